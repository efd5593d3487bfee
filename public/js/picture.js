import { thumbHashToDataURL } from '../vendor/thumbhash.js';
import { h } from './dom.js';

/** The variants' widths, as /meta gives them; an image narrower than one was not enlarged. */
const VARIANT_WIDTHS = { thumb: 320, feed: 1080 };
/** How wide a gallery tile is drawn (the grid's columns are 8rem and up). */
const TILE_SIZES = '(max-width: 30rem) 50vw, 14rem';

/**
 * A gallery picture: the `thumb` variant (or `feed` where the screen needs more pixels), over its
 * blurred ThumbHash placeholder until it has loaded. Creatives not processed yet show the original.
 */
export function creativePicture(creative, alt) {
  if (!creative.variants) return [h('img', { src: creative.creative_url, alt, loading: 'lazy' })];
  const widthOf = (variant) => Math.min(creative.width, VARIANT_WIDTHS[variant]);
  const image = h('img', {
    class: 'loading',
    src: creative.variants.thumb,
    srcset: `${creative.variants.thumb} ${widthOf('thumb')}w, ${creative.variants.feed} ${widthOf('feed')}w`,
    sizes: TILE_SIZES,
    alt,
    loading: 'lazy',
  });
  const placeholder = h('img', {
    class: 'placeholder',
    src: placeholderUrl(creative.placeholder),
    alt: '',
    'aria-hidden': 'true',
  });
  const reveal = () => {
    placeholder.remove();
    image.classList.remove('loading');
  };
  image.addEventListener('load', reveal, { once: true });
  image.addEventListener('error', reveal, { once: true });
  return [placeholder, image];
}

/** The ThumbHash (base64) as a small PNG data URL. */
export function placeholderUrl(base64) {
  return thumbHashToDataURL(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
}
