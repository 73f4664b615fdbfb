// Fernet (the spec at github.com/fernet/spec, as Python's cryptography makes it) opened in the
// browser with WebCrypto, for end-to-end messages the server cannot open. The club key never
// leaves this browser: it is imported as two non-extractable CryptoKeys (HMAC-SHA256 for the
// first half, AES-128-CBC for the second) kept in IndexedDB, so even this page's own script can
// use them but never read them back. Logging out forgets them.
'use strict';

const clubKey = (() => {
  const DATABASE = 'club-key';
  const STORE = 'keys';
  const NAME = 'club';
  let cached = null;

  function openDatabase() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DATABASE, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function withStore(mode, operation) {
    const db = await openDatabase();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = operation(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  // Strict urlsafe base64 with padding, as Fernet keys and tokens are written.
  function decode(text) {
    const standard = text.trim().replace(/-/g, '+').replace(/_/g, '/');
    if (standard.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(standard)) {
      throw new Error('not urlsafe base64');
    }
    return Uint8Array.from(atob(standard), (c) => c.charCodeAt(0));
  }

  async function importKey(text) {
    const raw = decode(text);
    try {
      if (raw.length !== 32) {
        throw new Error('a Fernet key is 32 bytes');
      }
      const signing = await crypto.subtle.importKey(
        'raw', raw.slice(0, 16), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      const encryption = await crypto.subtle.importKey(
        'raw', raw.slice(16), { name: 'AES-CBC' }, false, ['decrypt']);
      return { signing, encryption };
    } finally {
      raw.fill(0);
    }
  }

  async function load() {
    if (!cached) {
      cached = (await withStore('readonly', (store) => store.get(NAME))) || null;
    }
    return cached;
  }

  return {
    async set(text) {
      const keys = await importKey(text);
      await withStore('readwrite', (store) => store.put(keys, NAME));
      cached = keys;
    },
    async has() {
      return Boolean(await load());
    },
    async forget() {
      cached = null;
      await withStore('readwrite', (store) => store.delete(NAME));
    },
    // The plaintext of a token; throws if there is no key, the token is malformed, or its HMAC
    // does not verify (checked before anything is decrypted).
    async open(token) {
      const keys = await load();
      if (!keys) {
        throw new Error('no club key');
      }
      const data = decode(token);
      const overhead = 1 + 8 + 16 + 32;
      if (data.length < overhead + 16 || (data.length - overhead) % 16 !== 0 || data[0] !== 0x80) {
        throw new Error('not a Fernet token');
      }
      const signed = data.subarray(0, data.length - 32);
      const mac = data.subarray(data.length - 32);
      if (!(await crypto.subtle.verify('HMAC', keys.signing, mac, signed))) {
        throw new Error('the club key does not open this message');
      }
      const iv = data.subarray(9, 25);
      const ciphertext = data.subarray(25, data.length - 32);
      const plain = await crypto.subtle.decrypt({ name: 'AES-CBC', iv }, keys.encryption, ciphertext);
      return new TextDecoder('utf-8', { fatal: true }).decode(plain);
    },
  };
})();
