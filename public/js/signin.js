import { plainError, request } from './api.js';
import { countdown } from './countdown.js';
import { byId, say, sayAt } from './dom.js';
import { formatWait } from './format.js';
import { rememberedName, rememberName } from './session.js';

/**
 * Phone number (and name) → "Send code" → code → signed in. The API cannot say whether a number is
 * new, and it needs the name at request time, so the name is asked for on the first step.
 */
export function setupSignIn({ meta, onSignedIn }) {
  const ui = {
    notice: byId('signin-notice'),
    requestForm: byId('request-form'),
    phone: byId('phone'),
    phoneError: byId('phone-error'),
    name: byId('name'),
    nameError: byId('name-error'),
    requestError: byId('request-error'),
    sendCode: byId('send-code'),
    verifyForm: byId('verify-form'),
    sentTo: byId('sent-to'),
    code: byId('code'),
    codeError: byId('code-error'),
    verify: byId('verify'),
    resend: byId('resend'),
    resendStatus: byId('resend-status'),
    changeNumber: byId('change-number'),
  };
  const codeLength = meta.otp_length;
  ui.code.maxLength = codeLength;
  ui.code.pattern = `[0-9]{${codeLength}}`;
  byId('code-hint').textContent = `${codeLength} digits. The code works once and expires after a few minutes.`;

  let sent = { phone: '', name: '' };
  const waits = { request: () => {}, verify: () => {}, resend: () => {} };

  /** A 429: the button stays disabled and the message counts down to the moment it may be pressed. */
  function waitThenAllow(kind, button, messageElement, describe) {
    waits[kind]();
    button.disabled = true;
    waits[kind] = countdown(
      describe.seconds,
      (left) => say(messageElement, describe.text(formatWait(left))),
      () => {
        button.disabled = false;
        say(messageElement, describe.done);
      },
    );
  }

  function clearErrors() {
    sayAt(ui.phone, ui.phoneError, '');
    sayAt(ui.name, ui.nameError, '');
    say(ui.requestError, '');
    sayAt(ui.code, ui.codeError, '');
    say(ui.resendStatus, '');
  }

  function showRequestStep() {
    ui.verifyForm.hidden = true;
    ui.requestForm.hidden = false;
    ui.phone.focus();
  }

  function showVerifyStep() {
    ui.requestForm.hidden = true;
    ui.verifyForm.hidden = false;
    ui.code.value = '';
    ui.sentTo.textContent = `We sent a code by SMS to ${sent.phone}.`;
    ui.code.focus();
  }

  async function busy(button, work) {
    button.disabled = true;
    try {
      return await work();
    } finally {
      button.disabled = false;
    }
  }

  async function requestCode() {
    await request('POST', '/signup', { name: sent.name, phone_number: sent.phone }, { authenticated: false });
  }

  function explainRequestError(error) {
    if (error.code === 'rate_limited') {
      waitThenAllow('request', ui.sendCode, ui.requestError, {
        seconds: error.retryAfterSeconds ?? 30,
        text: (wait) => `Too many codes were asked for. You can ask again in ${wait}.`,
        done: 'You can ask for a code again now.',
      });
    } else if (error.code === 'country_not_allowed') {
      sayAt(ui.phone, ui.phoneError, "Numbers from that country can't sign up here yet.");
      ui.phone.focus();
    } else if (error.code === 'number_type_not_allowed') {
      sayAt(ui.phone, ui.phoneError, "That number can't receive text messages. Use a mobile number.");
      ui.phone.focus();
    } else if (error.code === 'validation_failed' && error.field === 'phone_number') {
      sayAt(ui.phone, ui.phoneError, "That isn't a valid phone number. Check the digits, or start with + and the country code.");
      ui.phone.focus();
    } else if (error.code === 'validation_failed' && error.field === 'name') {
      sayAt(ui.name, ui.nameError, 'Enter your name: up to 100 letters, digits, spaces or punctuation.');
      ui.name.focus();
    } else {
      say(ui.requestError, plainError(error));
    }
  }

  ui.requestForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    say(ui.notice, '');
    const phone = ui.phone.value.trim();
    const name = ui.name.value.trim();
    if (!phone) return sayAt(ui.phone, ui.phoneError, 'Enter your phone number.');
    if (!name) return sayAt(ui.name, ui.nameError, 'Enter your name.');
    sent = { phone, name };
    try {
      await busy(ui.sendCode, requestCode);
      rememberName(name);
      showVerifyStep();
    } catch (error) {
      explainRequestError(error);
    }
  });

  ui.verifyForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const code = ui.code.value.replace(/\s/g, '');
    if (!new RegExp(`^[0-9]{${codeLength}}$`).test(code)) {
      return sayAt(ui.code, ui.codeError, `The code has ${codeLength} digits.`);
    }
    try {
      const signedIn = await busy(ui.verify, () =>
        request('POST', '/signup', { phone_number: sent.phone, otp: code }, { authenticated: false }),
      );
      onSignedIn({ token: signedIn.token, expiry: signedIn.expiry, user: signedIn.data });
    } catch (error) {
      if (error.code === 'invalid_otp') {
        sayAt(ui.code, ui.codeError, 'That code is wrong or has expired. Check the SMS, or send a new code.');
        ui.code.select();
      } else if (error.code === 'rate_limited') {
        waitThenAllow('verify', ui.verify, ui.codeError, {
          seconds: error.retryAfterSeconds ?? 60,
          text: (wait) => `Too many sign-in attempts. You can try again in ${wait}.`,
          done: 'You can try the code again now.',
        });
      } else {
        sayAt(ui.code, ui.codeError, plainError(error));
      }
    }
  });

  ui.resend.addEventListener('click', async () => {
    clearErrors();
    try {
      await busy(ui.resend, requestCode);
      ui.code.value = '';
      say(ui.resendStatus, `A new code is on its way to ${sent.phone}. Earlier codes no longer work.`);
      ui.code.focus();
    } catch (error) {
      if (error.code === 'rate_limited') {
        waitThenAllow('resend', ui.resend, ui.resendStatus, {
          seconds: error.retryAfterSeconds ?? 30,
          text: (wait) => `You can ask for a new code in ${wait}. The code already sent still works.`,
          done: 'You can ask for a new code now.',
        });
      } else {
        say(ui.resendStatus, plainError(error));
      }
    }
  });

  ui.changeNumber.addEventListener('click', () => {
    clearErrors();
    showRequestStep();
  });

  return {
    /** Back to the first step, with an optional notice ("You're logged out."). */
    show(notice = '') {
      clearErrors();
      for (const stop of Object.values(waits)) stop();
      for (const button of [ui.sendCode, ui.verify, ui.resend]) button.disabled = false;
      say(ui.notice, notice);
      ui.name.value ||= rememberedName();
      showRequestStep();
    },
  };
}
