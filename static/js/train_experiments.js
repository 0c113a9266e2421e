// The training lab's ready-made experiments: runs that go wrong on purpose, one click each, with
// what to look for. Each is one or two runs (by the socket's names, over the server's quick run);
// two runs are trained one after the other and stay side by side on the charts.

const SMALL = { digits: '0,1', conv: '', hidden: '25,15', activation: 'sigmoid', optimizer: 'adam',
  initializer: 'glorot', l2: '0', dropout: '0', train_examples: '', learning_rate: '0.005' };
const DEEP = { ...SMALL, hidden: '64,64,64,64', epochs: '1', pace: 'fast' };
const TINY = { ...SMALL, digits: '0-9', hidden: '256,128', activation: 'relu', initializer: 'he',
  train_examples: '200', epochs: '25', pace: 'fast' };

export const EXPERIMENTS = [
  {
    id: 'rate-too-high',
    title: 'Rate too high',
    runs: [{ ...SMALL, optimizer: 'sgd', learning_rate: '10', epochs: '3', pace: 'fast' }],
    look: 'Plain gradient descent at learning rate 10: each step jumps clean across the valley '
      + 'of the loss and lands higher up the other side. Watch the loss shoot up within a few '
      + 'batches and the run stop as “diverged”, with no model kept. The alert offers a rate ten '
      + 'times smaller: press it, and the same network learns.',
  },
  {
    id: 'zero-initialisation',
    title: 'Zero initialisation',
    runs: [{ ...SMALL, initializer: 'zeros', epochs: '2', pace: 'fast' }],
    look: 'Every weight starts at 0, so every unit of a layer computes the same thing, gets the '
      + 'same gradient and takes the same step: the first layer’s weight images stay identical, '
      + 'each weight histogram is one narrow bar, and the “symmetric” alert comes at once. The '
      + 'network learns only as much as one unit per layer can.',
  },
  {
    id: 'sigmoid-vs-relu',
    title: 'Four sigmoid layers vs four ReLU layers',
    runs: [
      { ...DEEP, activation: 'sigmoid' },
      { ...DEEP, activation: 'relu', initializer: 'he' },
    ],
    look: 'The backward pass multiplies the gradient by each layer’s slope on its way down; a '
      + 'sigmoid’s is at most 0.25. On the gradient chart (log scale) the first layer’s line lies '
      + 'far below the output’s in the sigmoid run, with a “vanishing gradient” alert; in the ReLU '
      + 'run, trained next and drawn over it, the lines stay close together.',
  },
  {
    id: 'overfitting',
    title: 'Overfitting: tiny data, no dropout vs dropout',
    runs: [{ ...TINY, dropout: '0' }, { ...TINY, dropout: '0.5' }],
    look: 'Only 200 training digits for a network of 235,000 weights: it learns them by heart. '
      + 'The training loss falls towards 0 while the validation loss (dashed) stops falling and '
      + 'climbs: the gap is overfitting. The second run drops half of each hidden layer’s outputs '
      + 'at random while it trains; its gap opens later and less.',
  },
];
