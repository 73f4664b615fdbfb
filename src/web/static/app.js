// The members' page: plain DOM code, no framework, nothing inline (the CSP forbids it). Every
// piece of club data is put on the page with textContent, never as HTML.
'use strict';

// nextBefore: where the next older page starts (the API's next_before), null when the oldest
// message is shown; loading: a page is on its way, so a second click asks nothing twice;
// opened: what this page read of messages whose reads are counted (id -> what it shows), so that
// showing the list again never asks for one again; ticker: the timer that counts down expiries.
const state = {
  me: null, csrf: null, nextBefore: null, loading: false, opened: new Map(), ticker: null,
  hasKey: false,
};

// What the page is called before login: a secret club's name is not for strangers, so it comes
// from the API, for members only.
const NEUTRAL_NAME = 'The club';
const NEUTRAL_TITLE = 'Club messages';
const PAGE_SIZE = 20;
// How often the cards' "expires in" is counted down, and expired cards taken off the page.
const TICK_MS = 1000;
// The API's bounds for "max_reads" (docs/openapi.json).
const MAX_READS_LIMIT = 1000000;
// How a card names the roles a message is addressed to ("to bob and admins").
const ROLE_NAMES = { 'role:reader': 'readers', 'role:poster': 'posters', 'role:admin': 'admins' };

const $ = (id) => document.getElementById(id);

function show(element, visible) {
  element.hidden = !visible;
}

function say(element, text) {
  element.textContent = text || '';
  show(element, Boolean(text));
}

// One call to the club's API. Never throws for an HTTP status; only for a network failure.
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && state.csrf) {
    headers['X-CSRF-Token'] = state.csrf;
  }
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
  }
  return { status: response.status, data, retryAfter: response.headers.get('Retry-After') };
}

function errorCode(result) {
  return result.data && typeof result.data.error === 'string' ? result.data.error : '';
}

// A 401 in the middle of a session means it ended (expired, logged out elsewhere, or the member
// was removed): back to the login form, saying why.
function sessionLost(result) {
  if (result.status !== 401) {
    return false;
  }
  loggedOut(
    errorCode(result) === 'session_expired'
      ? 'Your session has ended. Please log in again.'
      : 'Please log in.',
  );
  return true;
}

function retryText(result) {
  const seconds = Number.parseInt(result.retryAfter || '', 10);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    return 'Too many failed attempts. Try again later.';
  }
  return seconds === 1
    ? 'Too many failed attempts. Try again in 1 second.'
    : `Too many failed attempts. Try again in ${seconds} seconds.`;
}

function formatTime(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? iso : when.toLocaleString();
}

// What an error answer says (the server's 400s say what was wrong with the request), or ''.
function serverMessage(result) {
  return result.data && typeof result.data.message === 'string' ? result.data.message : '';
}

// "45 s", "12 min", "5 h", "3 days": how long `ms` is, for "expires in ...".
function durationText(ms) {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) {
    return `${seconds} s`;
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min`;
  }
  const hours = Math.round(seconds / 3600);
  if (hours < 48) {
    return `${hours} h`;
  }
  return `${Math.round(seconds / 86400)} days`;
}

function readsLeftText(left) {
  return left === 1 ? '1 read left' : `${left} reads left`;
}

// "to bob", "to bob and admins", "to bob, carol and posters".
function recipientsText(to) {
  const names = to.map((r) => ROLE_NAMES[r] || r);
  if (names.length === 1) {
    return `to ${names[0]}`;
  }
  return `to ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

// A message whose reads are counted for this member: it has a read limit and is not their own
// (the author's reads never count). The page never reads such a body unless asked to.
function counted(message) {
  return Number.isInteger(message.max_reads) && message.author !== state.me.name;
}

function showClubName(name) {
  $('club-name').textContent = name || NEUTRAL_NAME;
  document.title = name || NEUTRAL_TITLE;
}

function loggedOut(notice) {
  state.me = null;
  state.csrf = null;
  state.nextBefore = null;
  state.opened.clear();
  state.hasKey = false;
  window.clearInterval(state.ticker);
  state.ticker = null;
  showClubName('');
  // Whoever uses this browser next must not find the club key in it.
  clubKey.forget().catch(() => {});
  show($('nav'), false);
  show($('messages-view'), false);
  show($('members-view'), false);
  show($('account-view'), false);
  show($('show-older'), false);
  $('messages').replaceChildren();
  for (const id of ['pw-current', 'pw-new', 'pw-repeat']) {
    $(id).value = '';
  }
  say($('password-error'), '');
  say($('password-done'), '');
  $('members-table').tBodies[0].replaceChildren();
  say($('new-password-name'), '');
  show($('new-password'), false);
  say($('notice'), notice);
  show($('login-view'), true);
  $('login-password').value = '';
  $('login-name').focus();
}

function loggedIn(me) {
  // What one member read is never shown to another (a page restored from history may find
  // someone else logged in).
  if (!state.me || state.me.name !== me.name) {
    state.opened.clear();
  }
  state.me = { name: me.name, role: me.role };
  state.csrf = me.csrf || null;
  $('whoami').textContent = `${me.name} (${me.role})`;
  showClubName(typeof me.club === 'string' ? me.club : '');
  show($('members-link'), me.role === 'admin');
  show($('post-form'), me.role === 'poster' || me.role === 'admin');
  show($('nav'), true);
  show($('login-view'), false);
  say($('notice'), '');
  if (state.ticker === null) {
    state.ticker = window.setInterval(tick, TICK_MS);
  }
  render();
}

async function render() {
  if (!state.me) {
    return;
  }
  const onMembers = window.location.hash === '#members' && state.me.role === 'admin';
  const onAccount = window.location.hash === '#account';
  show($('messages-view'), !onMembers && !onAccount);
  show($('members-view'), onMembers);
  show($('account-view'), onAccount);
  if (onMembers) {
    await loadMembers();
  } else if (onAccount) {
    $('pw-current').focus();
  } else {
    await loadMessages();
  }
}

// One card. `shown` is what readable() made of the body ({text, locked}), or {gated: true} for a
// message whose reads are counted and which this page has not read: a Read button instead.
function messageItem(message, shown) {
  const item = document.createElement('li');
  item.dataset.id = String(message.id);
  const meta = document.createElement('div');
  meta.className = 'meta';
  const author = document.createElement('span');
  author.className = 'author';
  author.textContent = message.author;
  const time = document.createElement('time');
  time.dateTime = message.created;
  time.textContent = formatTime(message.created);
  meta.append(author, time);
  if (message.format === 'fernet') {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'end to end';
    meta.append(badge);
  }
  meta.append(...termsOf(message, item));
  item.append(meta);
  if (shown.gated) {
    item.append(readGate(item, message));
  } else {
    item.append(bodyOf(shown));
  }
  if (mayDelete(message)) {
    item.append(deleteControl(item, message));
  }
  if (maySeeReads(message)) {
    item.append(receiptsControl(item, message));
  }
  return item;
}

function bodyOf(shown) {
  const body = document.createElement('p');
  body.className = shown.locked ? 'body locked' : 'body';
  body.textContent = shown.text;
  return body;
}

// What applies to the message, as text: "expires in 2 h", "1 read left", "to bob and admins".
// The card keeps its expiry time in data-expires for the ticker.
function termsOf(message, item) {
  const terms = [];
  const expires = typeof message.expires === 'string' ? Date.parse(message.expires) : NaN;
  if (Number.isFinite(expires)) {
    item.dataset.expires = String(expires);
    const when = document.createElement('time');
    when.className = 'expires';
    when.dateTime = message.expires;
    when.title = `Expires ${formatTime(message.expires)}`;
    when.textContent = `expires in ${durationText(expires - Date.now())}`;
    terms.push(when);
  }
  if (Number.isInteger(message.reads_left)) {
    const left = document.createElement('span');
    left.className = 'reads-left';
    left.textContent = readsLeftText(message.reads_left);
    terms.push(left);
  }
  if (Array.isArray(message.to) && message.to.length > 0) {
    const to = document.createElement('span');
    to.className = 'to';
    to.textContent = recipientsText(message.to);
    terms.push(to);
  }
  return terms;
}

// In place of the body of a message whose reads are counted: what a read costs, and a button
// that spends one. An end-to-end one waits for the club key, so that no read is spent on a body
// the page could not open.
function readGate(item, message) {
  const gate = document.createElement('div');
  gate.className = 'gate';
  const note = document.createElement('p');
  note.className = 'body locked';
  if (message.format === 'fernet' && !state.hasKey) {
    note.textContent = 'End-to-end message with a read limit: enter the club key before reading it.';
    gate.append(note);
    return gate;
  }
  note.textContent = 'This message has a read limit: reading it uses one read.';
  const left = message.reads_left;
  const read = button(`Read (uses 1 of ${readsLeftText(left)})`, '', () => readCounted(item, message, gate));
  const error = document.createElement('p');
  error.className = 'error';
  error.setAttribute('role', 'alert');
  error.hidden = true;
  gate.append(note, read, error);
  return gate;
}

// The member asked to read a counted message: one GET, one read. What it leaves is shown, and
// kept in state.opened so that showing the list again does not ask for another.
async function readCounted(item, message, gate) {
  const read = gate.querySelector('button');
  const error = gate.querySelector('.error');
  read.disabled = true;
  say(error, '');
  const result = await api('GET', `/api/v1/messages/${message.id}`);
  if (sessionLost(result)) {
    return;
  }
  if (result.status === 404) {
    gone(item, 'This message is no longer available.');
    return;
  }
  if (result.status !== 200) {
    read.disabled = false;
    say(error, 'The message could not be read. Try again shortly.');
    return;
  }
  const shown = await readable(result.data);
  const left = result.data.reads_left;
  state.opened.set(message.id, shown);
  const after = document.createElement('p');
  after.className = 'help reads-note';
  after.setAttribute('role', 'status');
  after.textContent = left === 0
    ? 'That was the last read: the message is now gone for everyone else.'
    : `You used one read; ${readsLeftText(left)} for others.`;
  gate.replaceWith(bodyOf(shown), after);
  const count = item.querySelector('.reads-left');
  if (count && Number.isInteger(left)) {
    count.textContent = readsLeftText(left);
  }
}

// A card whose message the server no longer has (used up, expired, deleted): greyed, saying so,
// with nothing left to click.
function gone(item, text) {
  state.opened.delete(Number(item.dataset.id));
  delete item.dataset.expires;
  item.classList.add('gone');
  const note = document.createElement('p');
  note.className = 'body locked';
  note.setAttribute('role', 'status');
  note.textContent = text;
  item.replaceChildren(item.querySelector('.meta') || '', note);
}

// A card that should no longer be on the page at all (its expiry passed).
function dropCard(item) {
  state.opened.delete(Number(item.dataset.id));
  item.remove();
  show($('messages-empty'), $('messages').children.length === 0 && state.nextBefore === null);
}

// Every TICK_MS: counts down each card's "expires in", and takes off the page the ones whose
// time has come (the server answers 404 for them from then on).
function tick() {
  const now = Date.now();
  for (const item of $('messages').querySelectorAll('li[data-expires]')) {
    const left = Number(item.dataset.expires) - now;
    if (left <= 0) {
      dropCard(item);
    } else {
      const when = item.querySelector('.expires');
      if (when) {
        when.textContent = `expires in ${durationText(left)}`;
      }
    }
  }
}

// The server shows a message's reads to its author and to admins (403 to others).
function maySeeReads(message) {
  const me = state.me;
  return Boolean(me) && (me.role === 'admin' || message.author === me.name);
}

// "Who read this": the message's read receipts, asked afresh at each click. The author's own
// reads are left out (their page reads their messages each time it lists them).
function receiptsControl(item, message) {
  const box = document.createElement('div');
  box.className = 'receipts';
  const list = document.createElement('ul');
  list.className = 'readers';
  list.hidden = true;
  const status = document.createElement('p');
  status.className = 'help';
  status.setAttribute('role', 'status');
  status.hidden = true;
  const ask = button('Who read this', 'quiet', async () => {
    ask.disabled = true;
    try {
      const result = await api('GET', `/api/v1/messages/${message.id}/reads`);
      if (sessionLost(result)) {
        return;
      }
      if (result.status === 404) {
        gone(item, 'This message is no longer available.');
        return;
      }
      if (result.status !== 200) {
        show(list, false);
        say(status, result.status === 403
          ? 'Only the author and admins see who read a message.'
          : 'The readers could not be loaded. Try again shortly.');
        return;
      }
      const reads = result.data.reads.filter((r) => r.reader !== message.author);
      list.replaceChildren(...reads.map((r) => {
        const li = document.createElement('li');
        const at = document.createElement('time');
        at.dateTime = r.at;
        at.textContent = formatTime(r.at);
        li.append(`${r.reader}, `, at);
        return li;
      }));
      show(list, reads.length > 0);
      say(status, reads.length === 0
        ? 'Nobody yet (not counting the author).'
        : 'Read by (oldest first, not counting the author):');
    } finally {
      ask.disabled = false;
    }
  });
  box.append(ask, status, list);
  return box;
}

// What the server allows (club::may_delete): an admin any message, a poster their own. The
// server decides; this only keeps a control off the cards it would refuse.
function mayDelete(message) {
  const me = state.me;
  return Boolean(me)
    && (me.role === 'admin' || (me.role === 'poster' && message.author === me.name));
}

function button(text, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (className) {
    b.className = className;
  }
  b.addEventListener('click', onClick);
  return b;
}

// A Delete button that asks first, in the card itself: "Delete this message for everyone?"
// with Delete and Cancel. Nothing is sent until the second click.
function deleteControl(item, message) {
  const actions = document.createElement('div');
  actions.className = 'actions';
  const error = document.createElement('p');
  error.className = 'error';
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const ask = () => {
    const question = document.createElement('p');
    question.className = 'confirm-text';
    question.textContent = 'Delete this message for everyone?';
    const yes = button('Delete', 'danger', () => removeMessage(item, message, actions, error));
    yes.setAttribute('aria-label', `Confirm deleting message ${message.id}`);
    const no = button('Cancel', 'quiet', idle);
    actions.replaceChildren(question, yes, no, error);
    no.focus();
  };
  const idle = () => {
    const start = button('Delete', 'quiet', ask);
    start.setAttribute('aria-label', `Delete message ${message.id}`);
    actions.replaceChildren(start, error);
  };
  idle();
  return actions;
}

async function removeMessage(item, message, actions, error) {
  for (const b of actions.querySelectorAll('button')) {
    b.disabled = true;
  }
  const result = await api('DELETE', `/api/v1/messages/${message.id}`);
  if (sessionLost(result)) {
    return;
  }
  // 404: someone else removed it meanwhile; either way it is gone.
  if (result.status === 204 || result.status === 404) {
    item.remove();
    show($('messages-empty'), $('messages').children.length === 0 && state.nextBefore === null);
    return;
  }
  for (const b of actions.querySelectorAll('button')) {
    b.disabled = false;
  }
  say(error, result.status === 403
    ? 'You may not delete this message.'
    : 'The message could not be deleted. Try again shortly.');
}

// The text to show for a message: its body, or for an end-to-end message what the club key
// opens (or why it cannot be shown).
async function readable(message) {
  if (message.format !== 'fernet') {
    return { text: message.body, locked: false };
  }
  if (!(await clubKey.has())) {
    return { text: 'End-to-end message: enter the club key to read it.', locked: true };
  }
  try {
    return { text: await clubKey.open(message.body), locked: false };
  } catch (e) {
    return { text: 'This message does not open with your club key.', locked: true };
  }
}

// One page of messages: the cards to show ({message, shown} each) and where the next older page
// starts; null if the session ended or the page could not be loaded. Each body is its own read
// (so each is in the audit trail), but a message whose reads are counted is never read here: it
// gets a Read button (or what this page already read of it).
async function fetchPage(before) {
  const query = before === null ? `limit=${PAGE_SIZE}` : `limit=${PAGE_SIZE}&before=${before}`;
  const page = await api('GET', `/api/v1/messages?${query}`);
  if (sessionLost(page)) {
    return null;
  }
  if (page.status !== 200) {
    return { failed: true };
  }
  state.hasKey = await clubKey.has();
  const full = await Promise.all(page.data.messages.map((summary) => {
    if (counted(summary)) {
      return { status: 200, data: summary, gated: true };
    }
    return api('GET', `/api/v1/messages/${summary.id}`);
  }));
  if (full.some(sessionLost)) {
    return null;
  }
  // A message removed (used up, expired, deleted) between the list and its read is simply not
  // shown.
  const found = full.filter((r) => r.status === 200);
  const cards = await Promise.all(found.map(async (r) => {
    if (!r.gated) {
      return { message: r.data, shown: await readable(r.data) };
    }
    const opened = state.opened.get(r.data.id);
    return { message: r.data, shown: opened || { gated: true } };
  }));
  const next = Number.isInteger(page.data.next_before) ? page.data.next_before : null;
  return { cards, next };
}

// Whether the club key form should show: an end-to-end message this page could not open, or
// one with a read limit waiting for the key.
function wantsKey(cards) {
  return cards.some((c) => c.shown.locked || (c.shown.gated && c.message.format === 'fernet' && !state.hasKey));
}

function showOlderControl() {
  show($('show-older'), state.nextBefore !== null);
  $('show-older').disabled = state.loading;
}

// The newest page, afresh.
async function loadMessages() {
  say($('older-error'), '');
  const page = await fetchPage(null);
  if (page === null) {
    return;
  }
  if (page.failed) {
    say($('notice'), 'The messages could not be loaded. Try again shortly.');
    return;
  }
  const { cards } = page;
  state.nextBefore = page.next;
  $('messages').replaceChildren(...cards.map((c) => messageItem(c.message, c.shown)));
  show($('messages-empty'), cards.length === 0 && state.nextBefore === null);
  show($('key-form'), wantsKey(cards));
  showOlderControl();
  // For unlock(): the end-to-end bodies this page tried to open, and whether each stayed locked.
  return cards
    .filter((c) => !c.shown.gated)
    .map((c) => ({ e2e: c.message.format === 'fernet', locked: c.shown.locked }));
}

// The next older page, after what is shown (keyset paging: stable while others post).
async function loadOlder() {
  if (state.loading || state.nextBefore === null) {
    return;
  }
  say($('older-error'), '');
  state.loading = true;
  showOlderControl();
  try {
    const page = await fetchPage(state.nextBefore);
    if (page === null || !state.me) {
      return;
    }
    if (page.failed) {
      say($('older-error'), 'Older messages could not be loaded. Try again shortly.');
      return;
    }
    const { cards } = page;
    state.nextBefore = page.next;
    $('messages').append(...cards.map((c) => messageItem(c.message, c.shown)));
    if (wantsKey(cards)) {
      show($('key-form'), true);
    }
    show($('messages-empty'), $('messages').children.length === 0 && state.nextBefore === null);
  } finally {
    state.loading = false;
    showOlderControl();
  }
}

function memberRow(member) {
  const row = document.createElement('tr');
  const name = document.createElement('td');
  name.textContent = member.name;
  const role = document.createElement('td');
  role.textContent = member.role;
  const since = document.createElement('td');
  since.textContent = formatTime(member.created);
  const actions = document.createElement('td');
  if (member.name !== state.me.name) {
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'danger';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Remove ${member.name}`);
    remove.addEventListener('click', () => removeMember(member.name));
    actions.append(remove);
  }
  row.append(name, role, since, actions);
  return row;
}

async function loadMembers() {
  const result = await api('GET', '/api/v1/members');
  if (sessionLost(result)) {
    return;
  }
  if (result.status !== 200) {
    say($('member-error'), 'The members could not be loaded.');
    return;
  }
  $('members-table').tBodies[0].replaceChildren(...result.data.members.map(memberRow));
}

async function removeMember(name) {
  if (!window.confirm(`Remove ${name}? Their sessions and tokens end at once.`)) {
    return;
  }
  const result = await api('DELETE', `/api/v1/members/${encodeURIComponent(name)}`);
  if (sessionLost(result)) {
    return;
  }
  say($('member-error'), result.status === 204 ? '' : `${name} could not be removed.`);
  await loadMembers();
}

async function logIn(event) {
  event.preventDefault();
  const error = $('login-error');
  say(error, '');
  const name = $('login-name').value.trim();
  const password = $('login-password').value;
  if (!name || !password) {
    say(error, 'Enter your name and password.');
    return;
  }
  const result = await api('POST', '/api/v1/session', { name, password });
  $('login-password').value = '';
  if (result.status === 200) {
    // A history entry without a hashchange event: loggedIn() renders the messages once.
    window.history.pushState(null, '', '#messages');
    loggedIn(result.data);
  } else if (result.status === 429) {
    say(error, retryText(result));
  } else if (result.status === 401) {
    say(error, 'Wrong name or password.');
  } else {
    say(error, 'Logging in failed. Try again shortly.');
  }
}

async function unlock(event) {
  event.preventDefault();
  const error = $('key-error');
  say(error, '');
  const input = $('club-key');
  try {
    await clubKey.set(input.value);
  } catch (e) {
    say(error, 'That is not a club key: it is 44 characters, as hush fernet key prints it.');
    return;
  } finally {
    input.value = '';
  }
  const shown = (await loadMessages()) || [];
  const e2e = shown.filter((m) => m.e2e);
  if (e2e.length > 0 && e2e.every((m) => m.locked)) {
    await clubKey.forget();
    await loadMessages();
    say(error, 'This key opens none of the messages. Check it with whoever shared it.');
  }
}

async function logOut() {
  try {
    await clubKey.forget();
  } finally {
    await api('DELETE', '/api/v1/session');
  }
  window.location.hash = '';
  loggedOut('You have logged out.');
}

// The message's life from the compose form: expires_in, max_reads and to, each only when set;
// or {problem} for a read limit that is not a whole number in range.
function lifeFromForm() {
  const life = {};
  const expires = $('post-expires').value;
  if (expires) {
    life.expires_in = Number(expires);
  }
  const readsInput = $('post-max-reads');
  const reads = readsInput.value.trim();
  // badInput: the browser's number field holds text it could not read as a number (its value is
  // then ''), which must not pass for "no limit".
  if (readsInput.validity.badInput || reads) {
    const n = Number(reads);
    if (readsInput.validity.badInput || !Number.isInteger(n) || n < 1 || n > MAX_READS_LIMIT) {
      return { problem: `Burn after reads: a whole number from 1 to ${MAX_READS_LIMIT}, or empty for no limit.` };
    }
    life.max_reads = n;
  }
  const to = $('post-to').value.split(/[\s,]+/).filter(Boolean);
  if (to.length > 0) {
    life.to = to;
  }
  return { life };
}

function resetCompose() {
  $('post-body').value = '';
  $('post-expires').value = '';
  $('post-max-reads').value = '';
  $('post-to').value = '';
}

async function postMessage(event) {
  event.preventDefault();
  const error = $('post-error');
  say(error, '');
  const body = $('post-body').value;
  if (!body.trim()) {
    say(error, 'Write a message first.');
    return;
  }
  const { life, problem } = lifeFromForm();
  if (problem) {
    say(error, problem);
    $('post-max-reads').focus();
    return;
  }
  const result = await api('POST', '/api/v1/messages', { body, ...life });
  if (sessionLost(result)) {
    return;
  }
  if (result.status === 201) {
    resetCompose();
    await loadMessages();
  } else if (result.status === 413) {
    say(error, 'That message is too long.');
  } else if (result.status === 403) {
    say(error, 'Your role may not post.');
  } else if (result.status === 400 && serverMessage(result)) {
    // The server says which value it refused ("to" names "x", who is not a member).
    say(error, serverMessage(result));
  } else {
    say(error, 'The message could not be posted.');
  }
}

function passwordBytes(text) {
  return new TextEncoder().encode(text).length;
}

async function changePassword(event) {
  event.preventDefault();
  const error = $('password-error');
  const done = $('password-done');
  say(error, '');
  say(done, '');
  const current = $('pw-current').value;
  const fresh = $('pw-new').value;
  const again = $('pw-repeat').value;
  if (!current || !fresh) {
    say(error, 'Enter your current password and a new one.');
    return;
  }
  if (fresh !== again) {
    say(error, 'The new passwords do not match.');
    $('pw-repeat').value = '';
    $('pw-repeat').focus();
    return;
  }
  if (passwordBytes(fresh) < 12 || passwordBytes(fresh) > 1024) {
    say(error, 'The new password must be at least 12 characters long (and at most 1024 bytes).');
    return;
  }
  const name = encodeURIComponent(state.me.name);
  const result = await api('PUT', `/api/v1/members/${name}/password`, {
    current_password: current,
    new_password: fresh,
  });
  $('pw-current').value = '';
  if (sessionLost(result)) {
    return;
  }
  if (result.status === 200 || result.status === 204) {
    // Every session of the member ended, this one too: the answer set the cookie of a new one,
    // whose CSRF token every later change must carry.
    if (result.data && typeof result.data.csrf === 'string') {
      state.csrf = result.data.csrf;
    }
    $('pw-new').value = '';
    $('pw-repeat').value = '';
    say(
      done,
      'Your password has been changed. Your other sessions have ended; ' +
        'API tokens and client certificates still work.',
    );
  } else if (result.status === 409) {
    say(error, 'Your password was changed elsewhere meanwhile. Nothing was changed here.');
  } else if (result.status === 403 && errorCode(result) === 'forbidden') {
    say(error, 'Your current password is not right.');
    $('pw-current').focus();
  } else if (result.status === 429) {
    say(error, retryText(result));
  } else if (result.status === 400) {
    say(error, 'The new password must be at least 12 characters long (and at most 1024 bytes).');
  } else {
    say(error, 'Your password could not be changed. Try again shortly.');
  }
}

async function addMember(event) {
  event.preventDefault();
  const error = $('member-error');
  say(error, '');
  show($('new-password'), false);
  const name = $('member-name').value.trim();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
    say(error, 'A name is 1 to 64 letters, digits, dots, dashes or underscores.');
    return;
  }
  const result = await api('POST', '/api/v1/members', { name, role: $('member-role').value });
  if (sessionLost(result)) {
    return;
  }
  if (result.status === 201) {
    $('member-name').value = '';
    $('new-password-name').textContent = result.data.name;
    $('new-password-value').textContent = result.data.password;
    show($('new-password'), true);
    await loadMembers();
  } else if (result.status === 409) {
    say(error, `There is already a member called ${name}.`);
  } else {
    say(error, `${name} could not be added.`);
  }
}

// Who is this browser, if anyone? Asked at load and whenever the page comes back into view, so a
// page restored from history never shows what a logged-out session saw.
async function start() {
  const result = await api('GET', '/api/v1/session');
  if (result.status === 200) {
    loggedIn(result.data);
  } else {
    const expired = errorCode(result) === 'session_expired';
    loggedOut(expired ? 'Your session has ended. Please log in again.' : '');
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', logIn);
  $('post-form').addEventListener('submit', postMessage);
  $('member-form').addEventListener('submit', addMember);
  $('key-form').addEventListener('submit', unlock);
  $('password-form').addEventListener('submit', changePassword);
  $('show-older').addEventListener('click', loadOlder);
  $('logout').addEventListener('click', logOut);
  window.addEventListener('hashchange', () => {
    if (state.me) {
      render();
    }
  });
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) {
      start();
    }
  });
  start();
});
