import { plainError, uploadCreative } from './api.js';
import { byId, h, say, sayAt } from './dom.js';
import { addDays, formatBytes, humanDate, listTypes } from './format.js';

/**
 * Choose or drop images, pick a date, upload. Every file becomes an entry in a queue that uploads
 * one file at a time, each with a progress bar fed by the real upload progress.
 */
export function setupUpload({ meta, onUploaded }) {
  const ui = {
    form: byId('upload-form'),
    dropzone: byId('dropzone'),
    files: byId('files'),
    filesError: byId('files-error'),
    preview: byId('preview'),
    date: byId('date'),
    dateError: byId('date-error'),
    queueHead: byId('queue-head'),
    queue: byId('queue'),
    announce: byId('upload-announce'),
  };
  const types = listTypes(meta.accepted_types);
  const maxBytes = formatBytes(meta.max_upload_bytes);
  const firstDay = meta.today;
  const lastDay = addDays(meta.today, meta.max_schedule_days);

  ui.files.accept = meta.accepted_types.join(',');
  ui.date.min = firstDay;
  ui.date.max = lastDay;
  ui.date.value = firstDay;
  byId('files-hint').textContent =
    `Choose or drop ${types} images, up to ${maxBytes} each. Several files upload one after another.`;
  byId('date-hint').textContent = `From today, ${humanDate(firstDay)} (${meta.timezone}), to ${humanDate(lastDay)}.`;

  /** What the client can tell before sending; the server still checks the content itself. */
  function problemWith(file) {
    // An unknown extension gives no type at all: let the server look at the content.
    if (file.type && !meta.accepted_types.includes(file.type)) return `“${file.name}” is not a ${types} image.`;
    if (file.size === 0) return `“${file.name}” is empty.`;
    if (file.size > meta.max_upload_bytes) {
      return `“${file.name}” is ${formatBytes(file.size)}; the largest file accepted is ${maxBytes}.`;
    }
    return '';
  }

  function dateProblem(date) {
    if (!date) return 'Pick a date.';
    if (date < firstDay) return `Pick today (${humanDate(firstDay)}) or a later day.`;
    if (date > lastDay) return `Pick a day up to ${humanDate(lastDay)}: at most ${meta.max_schedule_days} days ahead.`;
    return '';
  }

  let previewUrls = [];
  function showChosen() {
    for (const url of previewUrls) URL.revokeObjectURL(url);
    previewUrls = [];
    sayAt(ui.files, ui.filesError, '');
    ui.preview.replaceChildren(
      ...[...ui.files.files].map((file) => {
        const url = URL.createObjectURL(file);
        previewUrls.push(url);
        const problem = problemWith(file);
        return h(
          'li',
          { class: problem ? 'chosen refused' : 'chosen' },
          thumbnail(url),
          h('span', { class: 'name' }, file.name),
          h('span', { class: 'hint' }, formatBytes(file.size)),
          problem && h('span', { class: 'error' }, problem),
        );
      }),
    );
  }

  ui.files.addEventListener('change', showChosen);
  ui.dropzone.addEventListener('dragover', (event) => {
    if (!event.dataTransfer.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    ui.dropzone.classList.add('dragging');
  });
  ui.dropzone.addEventListener('dragleave', () => ui.dropzone.classList.remove('dragging'));
  ui.dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    ui.dropzone.classList.remove('dragging');
    ui.files.files = event.dataTransfer.files;
    showChosen();
  });
  // A file dropped just beside the zone would otherwise replace the whole page with the image.
  for (const type of ['dragover', 'drop']) window.addEventListener(type, (event) => event.preventDefault());

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const files = [...ui.files.files];
    const date = ui.date.value;
    sayAt(ui.files, ui.filesError, files.length ? '' : 'Choose at least one image.');
    sayAt(ui.date, ui.dateError, dateProblem(date));
    if (!files.length || dateProblem(date)) return;
    for (const file of files) enqueue(file, date);
    ui.files.value = '';
    showChosen();
    void drain();
  });

  const waiting = [];
  const items = new Set();
  let draining = false;

  function enqueue(file, date) {
    const url = URL.createObjectURL(file);
    const item = {
      file,
      date,
      url,
      progress: h('progress', { max: 100, value: 0, 'aria-label': `Upload of ${file.name}` }),
      percent: h('span', { class: 'percent' }, '0 %'),
      status: h('p', { class: 'status' }, 'Waiting'),
    };
    item.element = h(
      'li',
      { class: 'item', 'data-state': 'waiting', 'data-file': file.name },
      thumbnail(url),
      h(
        'div',
        { class: 'item-body' },
        h('p', { class: 'name' }, file.name),
        h('p', { class: 'hint' }, `${formatBytes(file.size)} · for ${humanDate(date)}`),
        h('div', { class: 'bar' }, item.progress, item.percent),
        item.status,
      ),
    );
    items.add(item);
    ui.queue.append(item.element);
    ui.queueHead.hidden = false;
    const problem = problemWith(file);
    if (problem) finish(item, 'failed', problem);
    else waiting.push(item);
  }

  function setProgress(item, fraction) {
    const percent = Math.round(fraction * 100);
    item.progress.value = percent;
    item.percent.textContent = `${percent} %`;
    if (percent === 100) item.status.textContent = 'Sent; waiting for the server…';
  }

  function finish(item, state, message) {
    item.element.dataset.state = state;
    item.status.textContent = message;
    item.status.className = state === 'failed' ? 'status error' : 'status';
    say(ui.announce, `${item.file.name}: ${message}`);
  }

  async function drain() {
    if (draining) return;
    draining = true;
    while (waiting.length) await send(waiting.shift());
    draining = false;
  }

  async function send(item) {
    item.element.dataset.state = 'uploading';
    item.status.textContent = 'Uploading…';
    try {
      const creative = await uploadCreative(item.file, item.date, (fraction) => setProgress(item, fraction));
      setProgress(item, 1);
      finish(item, 'done', `Scheduled for ${humanDate(creative.scheduled_at)}.`);
      onUploaded(creative);
    } catch (error) {
      finish(item, 'failed', explain(error, item));
    }
  }

  /** The API's refusals, next to the field they are about. */
  function explain(error, item) {
    switch (error.code) {
      case 'file_too_large':
      case 'body_too_large':
        return `Too large: the server accepts files up to ${maxBytes}.`;
      case 'image_too_large':
        return `Too many pixels: “${item.file.name}” is larger than the server accepts. Make it smaller and try again.`;
      case 'unsupported_media_type':
        return `Not an image the server accepts: it looked at what is inside “${item.file.name}”, not at its name, and found no ${types} image.`;
      case 'quota_exceeded':
        return 'Your storage is full: delete some of your creatives to make room.';
      case 'rate_limited':
        return 'Too many uploads in the last hour. Try again later.';
      case 'validation_failed':
        if (error.field === 'scheduled_at') {
          sayAt(ui.date, ui.dateError, `The server refused ${humanDate(item.date)}: ${error.message}.`);
          return 'The date was refused; see “Scheduled for”.';
        }
        return `The server refused this file: ${error.message}.`;
      case 'unauthorized':
        return 'Your session has ended; sign in again to upload.';
      default:
        return plainError(error);
    }
  }

  byId('queue-clear').addEventListener('click', () => {
    for (const item of items) {
      if (item.element.dataset.state !== 'done' && item.element.dataset.state !== 'failed') continue;
      forget(item);
    }
    ui.queueHead.hidden = items.size === 0;
  });

  function forget(item) {
    URL.revokeObjectURL(item.url);
    item.element.remove();
    items.delete(item);
  }

  return {
    /** Signed out: forget the chosen files and everything queued. */
    reset() {
      waiting.length = 0;
      for (const item of items) forget(item);
      ui.queueHead.hidden = true;
      ui.files.value = '';
      showChosen();
      sayAt(ui.date, ui.dateError, '');
      say(ui.announce, '');
    },
  };
}

/** A preview of a local file; a file the browser cannot draw (not really an image) says so. */
function thumbnail(url) {
  const image = h('img', { class: 'thumb', src: url, alt: '' });
  image.addEventListener('error', () => image.replaceWith(h('span', { class: 'thumb no-preview' }, 'No preview')), {
    once: true,
  });
  return image;
}
