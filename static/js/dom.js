// Small DOM builders shared by the page's panels, so each is written once.
//
// API:
//   byId(id)                               → document.getElementById(id)
//   h(tag, attributes, ...children)        → a new element; children are nodes or text
//                                            (null, undefined and '' are left out)
//   valueTerm(symbol, name, value, field)  → one "a activation 0.83" line of an explainer's <dl>
//   closeButton(onClick)                   → an explainer's × button, "Close the explanation"

export function byId(id) {
  return document.getElementById(id);
}

export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) {
    if (child === null || child === undefined || child === '') continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A symbol with its name, and its value under data-field `field` (where tests read it). */
export function valueTerm(symbol, name, value, field) {
  return h('div', { class: 'unit-value' },
    h('dt', {}, h('span', { class: 'symbol' }, symbol), ` ${name}`),
    h('dd', { 'data-field': field }, value),
  );
}

export function closeButton(onClick) {
  const button = h('button', {
    type: 'button', class: 'icon-button', 'aria-label': 'Close the explanation',
  }, '×');
  button.addEventListener('click', onClick);
  return button;
}
