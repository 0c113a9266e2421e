// A model's details from GET /models/{name} (its layers with weights and biases, its classes),
// fetched once per model and kept. A failed load is forgotten, so the next switch to that model
// asks again.
//
// API:
//   const details = new ModelDetails(summaries)  // Map name → {name, classes, …}: the models the
//                                                // page knows (served with it or trained on it)
//   details.load(name)       → Promise of {…GET /models/{name}, name, classes: string[]}
//   details.requested(name)  → true while a load of `name` is on its way or once it arrived

export class ModelDetails {
  #summaries;
  #requests = new Map();

  constructor(summaries) {
    this.#summaries = summaries;
  }

  requested(name) {
    return this.#requests.has(name);
  }

  load(name) {
    if (!this.#requests.has(name)) {
      const request = fetch(`/models/${encodeURIComponent(name)}`, { headers: { Accept: 'application/json' } })
        .then(async (response) => {
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const details = await response.json();
          if (!Array.isArray(details.layers)) throw new Error('no layers in the answer');
          return {
            ...details,
            name: details.name ?? name,
            classes: (details.classes ?? this.#summaries.get(name)?.classes ?? []).map(String),
          };
        });
      request.catch(() => this.#requests.delete(name));
      this.#requests.set(name, request);
    }
    return this.#requests.get(name);
  }
}
