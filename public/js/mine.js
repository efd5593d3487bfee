import { plainError, request } from './api.js';
import { creativeTile } from './creatives.js';
import { byId, h, say, sayAt } from './dom.js';
import { humanDate } from './format.js';

const PAGE_SIZE = 8;

/** The signed-in person's own creatives: a date range, pages of PAGE_SIZE, delete after a confirm. */
export function setupMine({ confirmDelete, onDeleted }) {
  const ui = {
    filter: byId('mine-filter'),
    from: byId('mine-from'),
    to: byId('mine-to'),
    all: byId('mine-all'),
    error: byId('mine-error'),
    summary: byId('mine-summary'),
    list: byId('mine-list'),
    empty: byId('mine-empty'),
    more: byId('mine-more'),
  };
  let range = { from: '', to: '' };
  let cursor = null;
  // Several refreshes can be in flight (uploads finishing close together): only the latest is drawn.
  let latest = 0;

  async function load({ fromStart }) {
    const call = ++latest;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (range.from) query.set('from', range.from);
    if (range.to) query.set('to', range.to);
    if (!fromStart && cursor) query.set('cursor', cursor);
    say(ui.error, '');
    ui.more.disabled = true;
    try {
      const page = await request('GET', `/creatives?${query}`);
      if (call !== latest) return;
      if (fromStart) ui.list.replaceChildren();
      ui.list.append(...page.creatives.map(card));
      cursor = page.next_cursor;
      summarise();
    } catch (error) {
      if (error.status !== 401) say(ui.error, plainError(error));
    } finally {
      ui.more.disabled = false;
    }
  }

  function summarise() {
    const count = ui.list.children.length;
    const span =
      range.from && range.to
        ? ` from ${humanDate(range.from)} to ${humanDate(range.to)}`
        : range.from
          ? ` from ${humanDate(range.from)} on`
          : range.to
            ? ` up to ${humanDate(range.to)}`
            : '';
    ui.summary.textContent = count ? `${count} creative${count === 1 ? '' : 's'}${span}${cursor ? ', more to load' : ''}.` : '';
    ui.empty.hidden = count > 0 || Boolean(cursor);
    ui.more.hidden = !cursor;
  }

  function card(creative) {
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'danger small',
        'aria-label': `Delete creative ${creative.id}, scheduled for ${humanDate(creative.scheduled_at)}`,
      },
      'Delete',
    );
    const tile = creativeTile(creative, h('p', { class: 'when' }, humanDate(creative.scheduled_at)), remove);
    remove.addEventListener('click', () => deleteCreative(creative, tile));
    return tile;
  }

  async function deleteCreative(creative, tile) {
    if (!(await confirmDelete(creative))) return;
    try {
      await request('DELETE', `/creatives/${creative.id}`);
    } catch (error) {
      // 404: it is gone already (deleted from another device); the list catches up below.
      if (error.status === 401) return;
      if (error.code !== 'not_found') return say(ui.error, plainError(error));
    }
    const next = tile.nextElementSibling ?? tile.previousElementSibling;
    tile.remove();
    summarise();
    (next?.querySelector('button') ?? byId('mine-title')).focus();
    onDeleted(creative);
  }

  ui.filter.addEventListener('submit', (event) => {
    event.preventDefault();
    const from = ui.from.value;
    const to = ui.to.value;
    if (from && to && from > to) return sayAt(ui.from, ui.error, '“From” is after “To”: swap them or change one.');
    sayAt(ui.from, ui.error, '');
    range = { from, to };
    void load({ fromStart: true });
  });
  ui.all.addEventListener('click', () => {
    ui.from.value = '';
    ui.to.value = '';
    range = { from: '', to: '' };
    void load({ fromStart: true });
  });
  ui.more.addEventListener('click', () => load({ fromStart: false }));

  return {
    refresh: () => load({ fromStart: true }),
    reset() {
      latest++;
      ui.list.replaceChildren();
      cursor = null;
      range = { from: '', to: '' };
      ui.from.value = '';
      ui.to.value = '';
      say(ui.error, '');
      summarise();
    },
  };
}
