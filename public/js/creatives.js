import { h } from './dom.js';
import { formatBytes, humanDate, typeName } from './format.js';
import { creativePicture } from './picture.js';

/** One creative as a gallery tile: its picture (a link to the full file) and what is known about it. */
export function creativeTile(creative, ...extra) {
  const details = [typeName(creative.content_type), creative.size_bytes === null ? null : formatBytes(creative.size_bytes)];
  return h(
    'li',
    { class: 'tile', 'data-id': creative.id },
    h(
      'a',
      { href: creative.creative_url, target: '_blank', rel: 'noopener' },
      creativePicture(creative, `Creative ${creative.id}, scheduled for ${humanDate(creative.scheduled_at)}`),
    ),
    h('p', { class: 'caption' }, details.filter(Boolean).join(' · ')),
    ...extra,
  );
}
