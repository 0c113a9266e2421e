// The page's state in the URL's hash, so that a link opens the page as it was left: the open
// section, then the model and that section's settings as a query string:
//   #teach
//   #teach?model=digits-0-9
//   #train?model=digits-0-1&digits=0-9&hidden=64,32&epochs=3
// main.js reads it on load and on every hash change (a section link, Back, an edited URL) and
// writes it when the model or the section changes; a section writes its own settings through
// page.saveSettings(). Writes replace the current history entry rather than add one, and fire
// no hashchange: Back steps through the sections a person opened, not through every knob.
//
// API:
//   readUrlState()          → {section, model, settings}: section and model null when the hash
//                             leaves them out, settings {name: text} (the section's own)
//   writeUrlState(state)    puts {section, model, settings} in the hash

export function readUrlState(hash = window.location.hash) {
  const text = hash.replace(/^#/, '');
  const at = text.indexOf('?');
  const params = new URLSearchParams(at < 0 ? '' : text.slice(at + 1));
  const model = params.get('model');
  params.delete('model');
  return {
    section: safeDecode(at < 0 ? text : text.slice(0, at)) || null,
    model: model || null,
    settings: Object.fromEntries(params),
  };
}

export function writeUrlState({ section, model, settings = {} }) {
  const pairs = Object.entries({ model, ...settings })
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([name, value]) => `${encode(name)}=${encode(String(value))}`);
  const hash = `#${encode(section ?? '')}${pairs.length ? `?${pairs.join('&')}` : ''}`;
  if (hash !== window.location.hash) window.history.replaceState(window.history.state, '', hash);
}

// Commas and colons are allowed in a URL's fragment: "hidden=64,32" reads better than "64%2C32".
function encode(text) {
  return encodeURIComponent(text).replace(/%2C/gi, ',').replace(/%3A/gi, ':');
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
