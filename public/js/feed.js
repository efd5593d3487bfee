import { plainError, request } from './api.js';
import { creativeTile } from './creatives.js';
import { byId, say } from './dom.js';
import { addDays, browserTimeZone, humanDate, todayIn } from './format.js';

/** "Today" and "Tomorrow": everyone's creatives, with the days taken in the browser's time zone. */
export function setupFeed({ meta }) {
  const ui = {
    zone: byId('feed-zone'),
    error: byId('feed-error'),
    todayDate: byId('today-date'),
    tomorrowDate: byId('tomorrow-date'),
    today: byId('gallery-today'),
    tomorrow: byId('gallery-tomorrow'),
    emptyToday: byId('empty-today'),
    emptyTomorrow: byId('empty-tomorrow'),
    refresh: byId('feed-refresh'),
  };

  /** The browser's zone, or the server's when the server does not know the browser's. */
  async function fetchScheduled() {
    const zone = browserTimeZone();
    try {
      return { zone, data: await request('GET', `/scheduled?tz=${encodeURIComponent(zone)}`) };
    } catch (error) {
      if (error.field !== 'tz') throw error;
      return { zone: meta.timezone, data: await request('GET', '/scheduled') };
    }
  }

  function fill(list, empty, creatives) {
    list.replaceChildren(...creatives.map((creative) => creativeTile(creative)));
    empty.hidden = creatives.length > 0;
  }

  // Uploads finishing close together each ask for a refresh: only the latest answer is drawn.
  let latest = 0;

  async function refresh() {
    const call = ++latest;
    say(ui.error, '');
    ui.refresh.disabled = true;
    try {
      const { zone, data } = await fetchScheduled();
      if (call !== latest) return;
      const today = todayIn(zone);
      ui.todayDate.textContent = humanDate(today);
      ui.tomorrowDate.textContent = humanDate(addDays(today, 1));
      ui.zone.textContent = `Days in your time zone, ${zone}. Everyone's creatives, oldest upload first.`;
      fill(ui.today, ui.emptyToday, data.scheduled_creatives.today);
      fill(ui.tomorrow, ui.emptyTomorrow, data.scheduled_creatives.tomorrow);
    } catch (error) {
      if (error.status !== 401) say(ui.error, plainError(error));
    } finally {
      ui.refresh.disabled = false;
    }
  }

  ui.refresh.addEventListener('click', refresh);

  return {
    refresh,
    reset() {
      latest++;
      for (const list of [ui.today, ui.tomorrow]) list.replaceChildren();
      say(ui.error, '');
    },
  };
}
