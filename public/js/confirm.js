import { byId } from './dom.js';
import { humanDate } from './format.js';

/** A modal "Delete this creative?" dialog; the returned function resolves true only on "Delete". */
export function setupConfirmDelete() {
  const dialog = byId('confirm');
  const image = byId('confirm-image');
  const text = byId('confirm-text');
  byId('confirm-ok').addEventListener('click', () => dialog.close('delete'));
  byId('confirm-cancel').addEventListener('click', () => dialog.close('cancel'));

  return (creative) =>
    new Promise((resolve) => {
      image.src = creative.variants?.feed ?? creative.creative_url;
      image.alt = `Creative ${creative.id}`;
      text.textContent = `It is scheduled for ${humanDate(creative.scheduled_at)}. It disappears from everyone's feed, and this cannot be undone.`;
      dialog.returnValue = '';
      // Escape closes the dialog too, with an empty returnValue: that counts as "keep it".
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'delete'), { once: true });
      dialog.showModal();
      byId('confirm-cancel').focus();
    });
}
