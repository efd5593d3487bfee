import { plainError, request, useToken } from './api.js';
import { setupConfirmDelete } from './confirm.js';
import { byId, say } from './dom.js';
import { setupFeed } from './feed.js';
import { setupMine } from './mine.js';
import { clearSession, loadSession, saveSession } from './session.js';
import { setupSignIn } from './signin.js';
import { setupUpload } from './upload.js';

const SCREENS = ['loading', 'signin', 'workspace'];

function show(screen) {
  for (const id of SCREENS) byId(id).hidden = id !== screen;
  byId('account').hidden = screen !== 'workspace';
}

/** GET /meta, asking to try again for as long as the server cannot be reached. */
async function loadMeta() {
  const message = byId('loading-message');
  const retry = byId('loading-retry');
  for (;;) {
    try {
      return await request('GET', '/meta', undefined, { authenticated: false });
    } catch (error) {
      message.textContent = plainError(error);
      retry.hidden = false;
      await new Promise((resolve) => retry.addEventListener('click', resolve, { once: true }));
      message.textContent = 'Loading…';
      retry.hidden = true;
    }
  }
}

const meta = await loadMeta();
byId('loading').removeAttribute('aria-busy');
// Only a server that writes codes to its log (SMS_PROVIDER=console) gets the hint that says where to look.
byId('dev-hint').hidden = meta.sms_provider !== 'console';

const feed = setupFeed({ meta });
const mine = setupMine({ confirmDelete: setupConfirmDelete(), onDeleted: () => feed.refresh() });
const upload = setupUpload({
  meta,
  onUploaded: () => {
    void feed.refresh();
    void mine.refresh();
  },
});
const signIn = setupSignIn({
  meta,
  onSignedIn(session) {
    saveSession(session);
    enter(session);
  },
});

let signedIn = false;

function enter(session) {
  signedIn = true;
  useToken(session.token, () => leave('Your session has ended. Sign in again to go on.'));
  byId('account-name').textContent = session.user.name;
  byId('account-phone').textContent = session.user.phone_number;
  say(byId('account-error'), '');
  show('workspace');
  void feed.refresh();
  void mine.refresh();
}

function leave(notice) {
  if (!signedIn) return;
  signedIn = false;
  clearSession();
  useToken(null);
  upload.reset();
  feed.reset();
  mine.reset();
  show('signin');
  signIn.show(notice);
}

async function logOut(everywhere) {
  try {
    await request('POST', everywhere ? '/logout?all=true' : '/logout');
  } catch (error) {
    // 401: the token was already dead, which is what logging out wants.
    if (error.status !== 401) return say(byId('account-error'), plainError(error));
  }
  leave(everywhere ? "You're logged out on all your devices." : "You're logged out on this device.");
}

byId('logout').addEventListener('click', () => logOut(false));
byId('logout-all').addEventListener('click', () => logOut(true));

const saved = loadSession();
if (saved) {
  useToken(saved.token);
  try {
    const { user } = await request('GET', '/me');
    saved.user = user;
    saveSession(saved);
    enter(saved);
  } catch (error) {
    // Unreachable right now: carry on with what was saved; every section reports its own errors.
    if (error.status === 401) {
      clearSession();
      useToken(null);
      show('signin');
      signIn.show('Your session has ended. Sign in again to go on.');
    } else enter(saved);
  }
} else {
  show('signin');
  signIn.show();
}
