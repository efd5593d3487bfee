import { h } from './dom.js';
import { formatBytes, humanDate, typeName } from './format.js';

/** One creative as a gallery tile: the image (a link to the full file) and what is known about it. */
export function creativeTile(creative, ...extra) {
  const details = [typeName(creative.content_type), creative.size_bytes === null ? null : formatBytes(creative.size_bytes)];
  return h(
    'li',
    { class: 'tile', 'data-id': creative.id },
    h(
      'a',
      { href: creative.creative_url, target: '_blank', rel: 'noopener' },
      h('img', {
        src: creative.creative_url,
        alt: `Creative ${creative.id}, scheduled for ${humanDate(creative.scheduled_at)}`,
        loading: 'lazy',
      }),
    ),
    h('p', { class: 'caption' }, details.filter(Boolean).join(' · ')),
    ...extra,
  );
}
