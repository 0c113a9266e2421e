// Talks to POST /predict while the person draws.
//
// At most one request is in flight. Changes made meanwhile only mark the drawing "dirty"; when the
// answer arrives, one new request carries the latest drawing (intermediate drawings are skipped),
// so requests never pile up and the newest drawing always gets the last word. Callers decide
// whether an answer is still wanted (see `snapshot.answerGeneration` in main.js).

const REQUEST_TIMEOUT_MS = 20000;

// Least time between two requests while the person draws.
const MIN_INTERVAL_MS = 90;
const ENDPOINT = '/predict';

/** A failed prediction, with a message a person can act on. */
class PredictError extends Error {
  name = 'PredictError';
}

export class PredictClient {
  #readDrawing;
  #onResult;
  #onError;
  #onBusyChange;
  #inFlight = false;
  #dirty = false;
  #urgent = false;
  #lastSentAt = -Infinity;
  #timer = null;

  /**
   * @param {object} options
   * @param {() => ({model: string, image: string, options?: object} & object) | null} options.readDrawing
   *   returns what to send now (the latest drawing), or null when there is nothing to send;
   *   `options` go in the query ({steps: true, fit: false, centre: true}: see docs/api.md)
   * @param {(result: object, snapshot: object) => void} options.onResult
   * @param {(error: PredictError, snapshot: object) => void} options.onError
   * @param {(busy: boolean) => void} options.onBusyChange
   */
  constructor({ readDrawing, onResult, onError, onBusyChange }) {
    this.#readDrawing = readDrawing;
    this.#onResult = onResult;
    this.#onError = onError;
    this.#onBusyChange = onBusyChange;
  }

  /** The drawing changed: predict it soon, or right away (after any request in flight) if urgent. */
  schedule({ urgent = false } = {}) {
    this.#dirty = true;
    this.#urgent = this.#urgent || urgent;
    this.#pump();
  }

  /** Forget a pending (not yet sent) request, e.g. when the canvas was cleared. */
  cancelPending() {
    this.#dirty = false;
    this.#urgent = false;
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  #pump() {
    if (this.#inFlight || !this.#dirty) return;
    const wait = this.#urgent ? 0 : this.#lastSentAt + MIN_INTERVAL_MS - performance.now();
    if (wait > 0) {
      if (this.#timer === null) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.#pump();
        }, wait);
      }
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#dirty = false;
    this.#urgent = false;
    const snapshot = this.#readDrawing();
    if (!snapshot) return;
    this.#inFlight = true;
    this.#lastSentAt = performance.now();
    this.#onBusyChange(true);
    this.#send(snapshot)
      .then(
        (result) => this.#onResult(result, snapshot),
        (error) => this.#onError(toPredictError(error), snapshot),
      )
      .finally(() => {
        this.#inFlight = false;
        this.#onBusyChange(false);
        this.#pump();
      });
  }

  async #send(snapshot) {
    const query = new URLSearchParams({ model: snapshot.model, ...snapshot.options });
    const url = `${ENDPOINT}?${query}`;
    const body = await postJson(url, { image: snapshot.image }, 'predict this drawing');
    if (!body || !body.probabilities || !Array.isArray(body.layers)) {
      throw new PredictError('The server sent an answer this page does not understand.');
    }
    return body;
  }
}

/**
 * POST `payload` as JSON to `url` and return the JSON answer (null if it is not JSON). Any failure
 * throws an Error that says what went wrong with `task` ("predict this drawing"), with the
 * server's detail when it gave one. Teach it's POST /gradients goes through here too.
 */
export async function postJson(url, payload, task) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(payload),
      signal: controller.signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw new Error(`The server took too long to ${task}.`);
    throw new Error(`Could not reach the server to ${task}.`);
  } finally {
    clearTimeout(timer);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = describeDetail(body?.detail);
    throw new Error(`The server could not ${task} (HTTP ${response.status}${detail ? `: ${detail}` : ''}).`);
  }
  return body;
}

function toPredictError(error) {
  return error instanceof PredictError ? error : new PredictError(String(error?.message ?? error));
}

/** FastAPI details are strings, or lists of {loc, msg} for validation errors. */
function describeDetail(detail) {
  if (!detail) return '';
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => item?.msg ?? JSON.stringify(item)).join('; ');
  }
  return JSON.stringify(detail);
}
