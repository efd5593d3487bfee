/** Small DOM helpers: the page is static HTML plus elements built here (no innerHTML, no inline styles). */

export const byId = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element;
};

/** `h('li', { class: 'x', 'aria-label': 'y' }, child, 'text')`; `on<event>` attributes become listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** Shows `message` in `element`, or hides it when the message is empty. */
export function say(element, message) {
  element.textContent = message ?? '';
  element.hidden = !message;
}

/** Marks the input whose error `message` describes (for screen readers and the red outline). */
export function sayAt(input, errorElement, message) {
  say(errorElement, message);
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}
