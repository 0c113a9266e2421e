// The atlas endpoints as the page calls them (docs/api.md, "Why this answer"): a layer's map of
// MNIST test digits, what one unit stands for, and /explain for the current drawing. Each
// answer that does not change (a layer's map, a unit) is fetched once per model.
//
// API:
//   const atlas = new AtlasClient()
//   await atlas.map(model, layer)       → GET /models/{model}/atlas?layer=
//   await atlas.unit(model, layer, i)   → GET /models/{model}/units/{layer}/{i}
//   await atlas.explain(drawing, layer) → POST /explain (drawing: {model, image})
//   atlas.digitsImage(model)            → an <img> of the model's atlas digits, loaded once

export class AtlasClient {
  #maps = new Map();
  #units = new Map();
  #images = new Map();

  /** `layer` null: the default one (the last hidden layer). */
  map(model, layer) {
    const key = `${model}\u0000${layer ?? ''}`;
    if (!this.#maps.has(key)) {
      const query = layer === null ? '' : `?layer=${encodeURIComponent(layer)}`;
      const url = `/models/${encodeURIComponent(model)}/atlas${query}`;
      this.#maps.set(key, getJson(url).catch((error) => {
        this.#maps.delete(key); // asked again later, it tries again
        throw error;
      }));
    }
    return this.#maps.get(key);
  }

  unit(model, layer, unit) {
    const key = `${model}\u0000${layer}\u0000${unit}`;
    if (!this.#units.has(key)) {
      const url = `/models/${encodeURIComponent(model)}/units/${encodeURIComponent(layer)}/${unit}`;
      this.#units.set(key, getJson(url).catch((error) => {
        this.#units.delete(key);
        throw error;
      }));
    }
    return this.#units.get(key);
  }

  async explain(drawing, layer) {
    const query = new URLSearchParams({ model: drawing.model, layer });
    const response = await fetch(`/explain?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: drawing.image }),
    });
    return answerOf(response);
  }

  digitsImage(model) {
    if (!this.#images.has(model)) {
      const image = new Image();
      image.src = `/models/${encodeURIComponent(model)}/atlas/digits.png`;
      this.#images.set(model, image);
    }
    return this.#images.get(model);
  }
}

async function getJson(url) {
  return answerOf(await fetch(url));
}

async function answerOf(response) {
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.detail ?? `the server answered ${response.status}`);
  return body;
}
