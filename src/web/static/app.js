// The members' page: plain DOM code, no framework, nothing inline (the CSP forbids it). Every
// piece of club data is put on the page with textContent, never as HTML.
'use strict';

// nextBefore: where the next older page starts (the API's next_before), null when the oldest
// message is shown; loading: a page is on its way, so a second click asks nothing twice.
const state = { me: null, csrf: null, nextBefore: null, loading: false };

// What the page is called before login: a secret club's name is not for strangers, so it comes
// from the API, for members only.
const NEUTRAL_NAME = 'The club';
const NEUTRAL_TITLE = 'Club messages';
const PAGE_SIZE = 20;

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

function showClubName(name) {
  $('club-name').textContent = name || NEUTRAL_NAME;
  document.title = name || NEUTRAL_TITLE;
}

function loggedOut(notice) {
  state.me = null;
  state.csrf = null;
  state.nextBefore = null;
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
  state.me = { name: me.name, role: me.role };
  state.csrf = me.csrf || null;
  $('whoami').textContent = `${me.name} (${me.role})`;
  showClubName(typeof me.club === 'string' ? me.club : '');
  show($('members-link'), me.role === 'admin');
  show($('post-form'), me.role === 'poster' || me.role === 'admin');
  show($('nav'), true);
  show($('login-view'), false);
  say($('notice'), '');
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

function messageItem(message, text, locked) {
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
  const body = document.createElement('p');
  body.className = locked ? 'body locked' : 'body';
  body.textContent = text;
  item.append(meta, body);
  if (mayDelete(message)) {
    item.append(deleteControl(item, message));
  }
  return item;
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

// One page of messages, bodies included (each body is its own read, so each is in the audit
// trail): the items to show and where the next older page starts; null if the session ended or
// the page could not be loaded.
async function fetchPage(before) {
  const query = before === null ? `limit=${PAGE_SIZE}` : `limit=${PAGE_SIZE}&before=${before}`;
  const page = await api('GET', `/api/v1/messages?${query}`);
  if (sessionLost(page)) {
    return null;
  }
  if (page.status !== 200) {
    return { failed: true };
  }
  const full = await Promise.all(
    page.data.messages.map((summary) => api('GET', `/api/v1/messages/${summary.id}`)),
  );
  if (full.some(sessionLost)) {
    return null;
  }
  // A message removed between the list and its read is simply not shown.
  const messages = full.filter((r) => r.status === 200).map((r) => r.data);
  const shown = await Promise.all(messages.map(readable));
  const next = Number.isInteger(page.data.next_before) ? page.data.next_before : null;
  return { messages, shown, next };
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
  const { messages, shown } = page;
  state.nextBefore = page.next;
  $('messages').replaceChildren(
    ...messages.map((m, i) => messageItem(m, shown[i].text, shown[i].locked)));
  show($('messages-empty'), messages.length === 0 && state.nextBefore === null);
  show($('key-form'), shown.some((s) => s.locked));
  showOlderControl();
  return messages.map((m, i) => ({ e2e: m.format === 'fernet', locked: shown[i].locked }));
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
    const { messages, shown } = page;
    state.nextBefore = page.next;
    $('messages').append(
      ...messages.map((m, i) => messageItem(m, shown[i].text, shown[i].locked)));
    if (shown.some((s) => s.locked)) {
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

async function postMessage(event) {
  event.preventDefault();
  const error = $('post-error');
  say(error, '');
  const body = $('post-body').value;
  if (!body.trim()) {
    say(error, 'Write a message first.');
    return;
  }
  const result = await api('POST', '/api/v1/messages', { body });
  if (sessionLost(result)) {
    return;
  }
  if (result.status === 201) {
    $('post-body').value = '';
    await loadMessages();
  } else if (result.status === 413) {
    say(error, 'That message is too long.');
  } else if (result.status === 403) {
    say(error, 'Your role may not post.');
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
