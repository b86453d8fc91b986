"""The About tab: what each control does, the update rule, the seeds' lessons, where the data comes from."""

from __future__ import annotations

import gradio as gr

from dlcore.data import B_NOTE

ABOUT = f"""
## What the playground does
You choose a model and how to train it; the playground trains it live on the device shown (CUDA, Apple MPS or CPU)
and draws what it learns. Everything runs in your own session: your models are yours alone.

**The update rule.** Every optimizer here refines the same idea, gradient descent:

    w ← w − lr · ∂L/∂w

The loss `L` says how wrong the model is; its gradient `∂L/∂w` points uphill, so a small step against it lowers
the loss. `lr` (the learning rate) is the step size: too small and training crawls, too large and `w` overshoots the
minimum and oscillates around it — or the loss explodes (the playground stops a run whose loss turns non-finite or
grows a million-fold, and keeps your previous model).

## The controls
- **Architecture**: *linear* has no hidden layer (a straight line between classes); *MLP* stacks layers, sizes as text
  such as `100,25`. The parameter count updates as you type.
- **Activation**: the non-linearity between layers (never after the output). *identity* makes the network linear
  however deep it is.
- **Optimizer**: *gd* is plain gradient descent written by hand (seed 000); *sgd* adds mini-batches (and momentum);
  *adam*/*adamw*/*rmsprop*/*adagrad*/*adadelta* adapt the step per weight; *rprop* and *lbfgs* are full-batch methods.
- **Loss**: cross-entropy (or NLL, or MSE on one-hot labels) for classes; MSE, L1 or Huber for prices. The optional
  **L1/L2 penalties** add `λ·Σ|w|` and `λ·Σw²` (seed 001's `L = L1 + λ·L2`); **weight decay** is the optimizer's own.
- **Epochs** are passes over the training data; **batch size** 0 means the whole set at once (full batch).
- **Scheduler**: *step* multiplies the learning rate by 0.9 each epoch (seed 001); *cosine* decays it to zero.
- **Dropout** randomly silences units while training, which fights over-fitting.

## What the seeds teach
The spiral table of seed 002 (full batch, 1000 epochs): without a non-linearity, `Linear(2,100) → Linear(100,3)` is
still one linear map and stays near **50 %** accuracy; a sigmoid barely helps under Adam at 1e-3 (**51 %**); ReLU makes
the same net reach **95.5 %**, and a second hidden layer (`100,25`) **99.8 %**. Non-linearity lets a network bend its
boundaries; depth lets it bend them cheaply. Try the rows yourself in the 2-D tab.

**What the sigmoid row shows, and what it does not.** It shows that at Adam's 1e-3, after 1000 epochs, 100 sigmoid
units have fitted the spiral no better than a straight line (about 51 %). It does not show that sigmoid units cannot
learn the spiral: their loss is still falling at epoch 1000, and the same network trained with a learning rate of 1e-2
reaches **0.995** accuracy on held-out points. The row compares how fast each activation learns at one learning rate,
not what each can learn. Every run here ends with such a reading of its curves, and **Try this** sets up the change
it suggests (for this row: the larger learning rate).

**After a run.** The status says what the curves show: still falling (train longer, or **Continue** from where it
stopped), diverged or oscillating (a smaller learning rate), over-fitting (the test loss rising while the training
loss falls), under-fitting, or worse than the trivial model (a price model with R² < 0 does worse than always
guessing the average). A run that ends worse than the tab's current model does not replace it until you choose
**Use the new model**.

## Where the data comes from
- **Spiral**: generated with seed 002's formula — for class c, `t = linspace(0,1,N)`,
  `θ = linspace(2πc/C, 2π(2+c)/C, N) + noise·randn`, point `t·(sin θ, cos θ)`.
- **Boston housing**: 506 towns, Harrison & Rubinfeld (1978), StatLib, public domain. {B_NOTE}
- **MNIST**: LeCun, Cortes & Burges, CC BY-SA 3.0 — the full set when it can be downloaded, else the 5,000-digit
  subset shipped with the app. **Fashion-MNIST**: Zalando Research, MIT.
"""


def build(demo: gr.Blocks) -> None:
    with gr.Tab("About", id="about"):
        gr.Markdown(ABOUT)
