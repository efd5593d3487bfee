/** The signed-in session (bearer token, its expiry, the user) kept in localStorage. */

const KEY = 'cheershare.session';

export function loadSession() {
  try {
    const session = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    if (session && typeof session.token === 'string' && Date.parse(session.expiry) > Date.now()) return session;
  } catch {
    // A damaged entry is as good as none.
  }
  localStorage.removeItem(KEY);
  return null;
}

export function saveSession(session) {
  localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  localStorage.removeItem(KEY);
}

const NAME_KEY = 'cheershare.name';

/** The name typed last time, so a returning person does not type it again. */
export const rememberedName = () => localStorage.getItem(NAME_KEY) ?? '';
export const rememberName = (name) => localStorage.setItem(NAME_KEY, name);
