"""A small torch MLP classifier with the scikit-learn surface curate's predict stage uses.

One hidden layer with dropout, Adam, full-batch-free mini-batches, a fixed number of epochs,
seeded. CPU only. It exists so that the reference model can be non-linear without leaving
the project's core dependencies.
"""

from __future__ import annotations

import numpy as np


class TorchMLPClassifier:
    def __init__(
        self,
        hidden: int = 256,
        epochs: int = 30,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        dropout: float = 0.2,
        batch_size: int = 256,
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.batch_size = batch_size
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> TorchMLPClassifier:
        import torch

        torch.manual_seed(self.seed)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        Xt = torch.as_tensor(np.asarray(X, np.float32))
        yt = torch.as_tensor(y_index, dtype=torch.long)
        self._net = torch.nn.Sequential(
            torch.nn.Linear(Xt.shape[1], self.hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(self.dropout),
            torch.nn.Linear(self.hidden, len(self.classes_)),
        )
        opt = torch.optim.Adam(self._net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = torch.nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(self.seed)
        self._net.train()
        for _ in range(self.epochs):
            for idx in torch.randperm(len(Xt), generator=gen).split(self.batch_size):
                opt.zero_grad()
                loss_fn(self._net(Xt[idx]), yt[idx]).backward()
                opt.step()
        self._net.eval()
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            logits = self._net(torch.as_tensor(np.asarray(X, np.float32)))
            return torch.softmax(logits, dim=1).numpy().astype(np.float64)
