"""The neural network potential: graphs, descriptors, short-range networks with a fixed core
repulsion, the ensemble with the analytic Coulomb term, model files and the ASE calculator
(docs/method.md §5, §8). Config: model."""
