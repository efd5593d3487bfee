// Runs in the browser before the client's own scripts (context.addInitScript). It records what the
// test asserts on but cannot see from outside: CSP violations, every value each upload progress
// bar shows, and how many uploads were ever running at once.
window.e2e = {
  cspViolations: [],
  progress: {},
  mostUploadingAtOnce: 0,

  /** Horizontal overflow in CSS pixels: 0 when nothing scrolls sideways. */
  sideways: () => document.documentElement.scrollWidth - document.documentElement.clientWidth,

  /** The token the client keeps, or undefined when signed out. */
  token: () => JSON.parse(localStorage.getItem('cheershare.session') ?? '{}').token,

  /** Loads lazy images too and waits until every image has loaded or failed (for screenshots). */
  async settleImages() {
    const images = [...document.images];
    for (const image of images) image.loading = 'eager';
    const pending = images.filter((image) => !image.complete);
    await Promise.all(
      pending.map(
        (image) =>
          new Promise((resolve) => {
            image.addEventListener('load', resolve);
            image.addEventListener('error', resolve);
          }),
      ),
    );
  },

  /** Drops files on `selector` as a person dragging them from their desktop would. */
  dropFiles(selector, files) {
    const transfer = new DataTransfer();
    for (const { name, type, base64 } of files) {
      const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
      transfer.items.add(new File([bytes], name, { type }));
    }
    const target = document.querySelector(selector);
    for (const type of ['dragenter', 'dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }
  },

  /** The decoded width of the first image under `selector`, once it has loaded (0 if it failed). */
  async imageWidth(selector) {
    const image = document.querySelector(selector);
    if (!image.complete) await new Promise((resolve) => image.addEventListener('load', resolve));
    return image.naturalWidth;
  },
};

document.addEventListener('securitypolicyviolation', (event) =>
  window.e2e.cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`),
);

document.addEventListener('DOMContentLoaded', () => {
  const queue = document.getElementById('queue');
  const record = window.e2e;
  new MutationObserver(() => {
    for (const item of queue.querySelectorAll('.item')) {
      const seen = (record.progress[item.dataset.file] ??= []);
      const value = item.querySelector('progress').value;
      if (seen.at(-1) !== value) seen.push(value);
    }
    record.mostUploadingAtOnce = Math.max(record.mostUploadingAtOnce, queue.querySelectorAll('[data-state="uploading"]').length);
  }).observe(queue, { subtree: true, childList: true, attributes: true });
});
