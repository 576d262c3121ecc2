"""Build the article notebooks from the cell sources below and execute them.

    python notebooks/make_notebooks.py            # write and run all of them
    python notebooks/make_notebooks.py 004        # only one
    python notebooks/make_notebooks.py --tidy     # only tidy the stored outputs

Each notebook ends with a cell that prints ``TINYNN_RESULTS {...}`` (JSON):
tests/test_notebooks.py re-executes the notebooks and checks those figures.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

COMMON_SETUP = """\
import json, time
import numpy as np
import matplotlib.pyplot as plt
import tinynn as tn
%matplotlib inline"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {}

# ---------------------------------------------------------------------------------
NOTEBOOKS["004_one_neuron"] = [
    (
        "md",
        """\
# A one-neuron network (article 004)

The article builds a class with `sigmoid`, `feed_forward`, `backpropagation`, `train`
and `predict` to learn a toy rule: **the label is the first of three binary
features**. Its "network" is a single sigmoid neuron with three weights, all
starting at 0.5, and no bias. Each of 25,000 epochs runs the whole data set forward
and applies

$$w \\leftarrow w + X^\\top\\big((y-\\hat y)\\,\\hat y\\,(1-\\hat y)\\big)$$

which is gradient descent with step 1 on $\\tfrac12\\sum(y-\\hat y)^2$.

In tinynn the same neuron is `Dense(1, activation='sigmoid', use_bias=False)` with a
constant 0.5 initializer. tinynn's `mse` loss is the **mean** of the squared errors,
whose gradient is $2/N$ times the article's, so plain SGD with
`learning_rate = N/2 = 3` takes exactly the article's step. The article records the
mean absolute error of every epoch (before that epoch's update): that is the `mae`
metric in `history.history`. Everything runs in float64, so the printed predictions
can be compared digit for digit.""",
    ),
    ("code", COMMON_SETUP),
    (
        "code",
        """\
tn.set_floatx('float64')
inputs, outputs = tn.datasets.toy.load_data()
print(inputs.astype(int).tolist(), outputs.astype(int).ravel().tolist())""",
    ),
    (
        "code",
        """\
model = tn.Sequential([
    tn.layers.Dense(1, activation='sigmoid', use_bias=False,
                    kernel_initializer=tn.initializers.Constant(0.5), input_shape=(3,)),
])
model.compile(optimizer=tn.optimizers.SGD(learning_rate=len(inputs) / 2), loss='mse',
              metrics=['mae'])
started = time.perf_counter()
history = model.fit(inputs, outputs, epochs=25000, batch_size=len(inputs), shuffle=False,
                    verbose=0)
seconds = time.perf_counter() - started
print(f'25,000 epochs in {seconds:.1f} s')""",
    ),
    (
        "code",
        """\
example = np.array([[1, 1, 0]])
example_2 = np.array([[0, 1, 1]])
p1 = model.predict(example, verbose=0)
p2 = model.predict(example_2, verbose=0)
print(p1, ' - Correct: ', example[0][0])
print(p2, ' - Correct: ', example_2[0][0])""",
    ),
    (
        "md",
        """\
The same 25,000 updates written directly in NumPy (our own few lines, following the
formula above) give the reference the notebook compares against:""",
    ),
    (
        "code",
        """\
w = np.full((3, 1), 0.5)
reference_errors = []
for _ in range(25000):
    y_hat = 1 / (1 + np.exp(-(inputs @ w)))
    error = outputs - y_hat
    reference_errors.append(np.mean(np.abs(error)))
    w += inputs.T @ (error * y_hat * (1 - y_hat))
ref_p1 = 1 / (1 + np.exp(-(example @ w)))
print('largest weight difference:', np.abs(w - model.get_weights()[0]).max())""",
    ),
    (
        "code",
        """\
fig = tn.plot.error_curve(history.history['mae'], xlabel='epoch',
                          ylabel='mean absolute error (label units, 0 to 1)',
                          title='One neuron: mean absolute error per epoch')
fig.set_size_inches(15, 5)
plt.show()""",
    ),
    (
        "code",
        """\
results = {
    'predict_110': float(p1[0, 0]), 'article_predict_110': 0.99089925,
    'predict_011': float(p2[0, 0]), 'article_predict_011': 0.006409,
    'max_weight_diff_vs_numpy': float(np.abs(w - model.get_weights()[0]).max()),
    'final_error': float(history.history['mae'][-1]),
    'error_history_matches_numpy': bool(np.allclose(history.history['mae'], reference_errors,
                                                    rtol=1e-9, atol=1e-12)),
    'seconds': seconds,
}
print('| figure | article | tinynn |')
print('|---|---|---|')
print(f"| predict([[1, 1, 0]]) | 0.99089925 | {results['predict_110']:.8f} |")
print(f"| predict([[0, 1, 1]]) | 0.006409 | {results['predict_011']:.6f} |")
print('TINYNN_RESULTS', json.dumps(results))""",
    ),
]

# ---------------------------------------------------------------------------------
NOTEBOOKS["002_pure_numpy"] = [
    (
        "md",
        """\
# A neural network in "pure NumPy", with tinynn's layers (article 002)

The article writes `Dense` and `ReLU` classes with `forward` and `backward`, the
log-softmax cross-entropy and its gradient `(softmax - onehot) / batch`, and a
minibatch SGD loop. Model: 784-100-200-10 (Dense, ReLU, Dense, ReLU, Dense), weights
drawn from N(0, sqrt(2/(fan_in+fan_out))), zero biases, SGD with learning rate 0.1,
batch 32, shuffled, 25 epochs; the last 10,000 training images are held out for
validation.

Here every piece is a tinynn object used through its **low-level face**:
`layer.forward(x)`, `layer.backward(grad)` (which fills `layer.gradients`), the
fused loss `value_and_grad`, and `optimizer.apply_gradients`. The loop is the
article's loop. Afterwards the same model is trained with `Sequential.fit` from the
same seed, and the two runs are compared.""",
    ),
    ("code", COMMON_SETUP),
    (
        "code",
        """\
(x_train, y_train), (x_test, y_test) = tn.datasets.mnist.load_data()
X = (x_train.reshape(-1, 784) / 255.0).astype('float32')
X_train, y_train_, X_val, y_val = X[:-10000], y_train[:-10000], X[-10000:], y_train[-10000:]
print(X_train.shape, X_val.shape)""",
    ),
    (
        "code",
        """\
def article_init(fan_in, fan_out):
    return tn.initializers.RandomNormal(stddev=np.sqrt(2 / (fan_in + fan_out)))

def make_layers():
    return [tn.layers.Dense(100, kernel_initializer=article_init(784, 100)),
            tn.layers.Activation('relu'),
            tn.layers.Dense(200, kernel_initializer=article_init(100, 200)),
            tn.layers.Activation('relu'),
            tn.layers.Dense(10, kernel_initializer=article_init(200, 10))]

def forward(network, x, training=False):
    for layer in network:
        x = layer.forward(x, training=training)
    return x

def accuracy(network, x, y):
    return float(np.mean(forward(network, x).argmax(axis=1) == y))""",
    ),
    (
        "code",
        """\
tn.set_seed(0)
network = make_layers()
loss_fn = tn.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = tn.optimizers.SGD(learning_rate=0.1)
forward(network, X_train[:1])   # creates the weights (784 inputs)
params = [w for layer in network for w in layer.weights]
train_log, val_log = [], []
started = time.perf_counter()
for epoch in range(25):
    order = tn.random.generator().permutation(len(X_train))
    for start in range(0, len(X_train), 32):
        batch = order[start:start + 32]
        logits = forward(network, X_train[batch], training=True)
        loss, grad = loss_fn.value_and_grad(y_train_[batch], logits)
        for layer in reversed(network):
            grad = layer.backward(grad)
        optimizer.apply_gradients(zip([g for l in network for g in l.gradients], params))
    train_log.append(accuracy(network, X_train, y_train_))
    val_log.append(accuracy(network, X_val, y_val))
    print(f'epoch {epoch + 1:2d}  train accuracy {train_log[-1]:.4f}  '
          f'validation accuracy {val_log[-1]:.4f}')
manual_seconds = time.perf_counter() - started""",
    ),
    (
        "code",
        """\
plt.plot(range(1, 26), train_log, label='train accuracy')
plt.plot(range(1, 26), val_log, label='val accuracy')
plt.title('784-100-200-10 trained by the manual loop')
plt.xlabel('epoch'); plt.ylabel('accuracy (fraction correct)')
plt.legend(loc='best'); plt.grid()
plt.show()""",
    ),
    (
        "md",
        """\
## The same model through `Sequential.fit`

`fit` shuffles with the same generator (`tn.random.generator()`), so from the same
seed it sees the same batches in the same order, and the weights agree.""",
    ),
    (
        "code",
        """\
tn.set_seed(0)
model = tn.Sequential(make_layers())
model.compile(optimizer=tn.optimizers.SGD(learning_rate=0.1),
              loss=tn.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])
model.build((None, 784))
started = time.perf_counter()
history = model.fit(X_train, y_train_, batch_size=32, epochs=25, verbose=2,
                    validation_data=(X_val, y_val))
fit_seconds = time.perf_counter() - started
fit_val = model.evaluate(X_val, y_val, verbose=0)[1]
max_diff = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), params))
print('largest weight difference between the two runs:', max_diff)""",
    ),
    (
        "code",
        """\
results = {'val_accuracy': val_log[-1], 'article_val_accuracy': 0.98,
           'fit_val_accuracy': float(fit_val), 'max_weight_diff_manual_vs_fit': max_diff,
           'manual_seconds_per_epoch': manual_seconds / 25,
           'fit_seconds_per_epoch': fit_seconds / 25}
print('| figure | article | tinynn (manual loop) | tinynn (fit) |')
print('|---|---|---|---|')
print(f"| validation accuracy after 25 epochs | ~0.98 | {val_log[-1]:.4f} | {fit_val:.4f} |")
print(f"| seconds per epoch | - | {manual_seconds / 25:.2f} | {fit_seconds / 25:.2f} |")
print('TINYNN_RESULTS', json.dumps(results))""",
    ),
]

# ---------------------------------------------------------------------------------
NOTEBOOKS["001_keras_hello_world"] = [
    (
        "md",
        """\
# Keras "hello world" on MNIST (article 001), run with tinynn

The article's listing is below **unchanged** except for its first line: `import
tinynn as tf` instead of `import tensorflow as tf`. It loads MNIST, shows a digit,
builds Flatten-512-256-128-10 (ReLU, softmax), prints the summary, trains 10 epochs
with Adam on batches of 32 with the test set as validation data, prints the
baseline error and saves the model. The article reports 567,434 parameters,
val_acc 0.9828 after 10 epochs and a baseline error of 1.73%. (Its log starts at
loss 0.02 because the author re-ran `fit` on a trained model; a fresh model starts
near 0.2.)""",
    ),
    (
        "code",
        """\
import tinynn as tf
import matplotlib.pyplot as plt
%matplotlib inline
tf.set_seed(0)""",
    ),
    (
        "code",
        """\
mnist = tf.keras.datasets.mnist
(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train.shape, x_test.shape""",
    ),
    (
        "code",
        """\
plt.subplot(221)
plt.imshow(x_train[0], cmap=plt.get_cmap('gray'))
# show the plot
plt.show()""",
    ),
    (
        "code",
        """\
# normalize inputs from 0-255 to 0-1
x_train, x_test = x_train / 255.0, x_test / 255.0""",
    ),
    (
        "code",
        """\
model = tf.keras.models.Sequential([
tf.keras.layers.Flatten(input_shape=(28, 28)),
tf.keras.layers.Dense(512, activation=tf.nn.relu),
tf.keras.layers.Dense(256, activation=tf.nn.relu),
tf.keras.layers.Dense(128, activation=tf.nn.relu),
tf.keras.layers.Dense(10, activation=tf.nn.softmax)
])
model.summary()""",
    ),
    (
        "code",
        """\
model.compile(optimizer='adam',
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])
model.fit(x_train, y_train, epochs=10, validation_data=[x_test, y_test])
scores = model.evaluate(x_test, y_test, verbose=0)
print("Baseline Error: %.2f%%" % (100-scores[1]*100))""",
    ),
    (
        "code",
        """\
model.save('handwritten_digit.h5')
reloaded = tf.keras.models.load_model('handwritten_digit.h5')
same = bool((reloaded.predict(x_test, verbose=0) == model.predict(x_test, verbose=0)).all())
print('reloaded model predicts identically:', same)""",
    ),
    (
        "code",
        """\
import json, os
fig = tf.plot.history(model.history)
plt.show()
seconds = model.history.epoch_seconds
results = {'total_params': model.count_params(), 'article_total_params': 567434,
           'layer_params': [l.count_params() for l in model.layers],
           'val_accuracy': model.history.history['val_accuracy'][-1],
           'article_val_accuracy': 0.9828,
           'test_error_percent': 100 - scores[1] * 100, 'article_test_error_percent': 1.73,
           'seconds_per_epoch': float(sorted(seconds)[len(seconds) // 2]),
           'article_seconds_per_epoch': 7, 'reload_identical': same}
os.remove('handwritten_digit.h5')
print('| figure | article | tinynn |')
print('|---|---|---|')
print(f"| total params | 567,434 | {results['total_params']:,} |")
print(f"| val_acc after 10 epochs | 0.9828 | {results['val_accuracy']:.4f} |")
print(f"| baseline error | 1.73% | {results['test_error_percent']:.2f}% |")
print(f"| seconds per epoch | about 7 | {results['seconds_per_epoch']:.1f} |")
print('TINYNN_RESULTS', json.dumps(results))""",
    ),
]

# ---------------------------------------------------------------------------------
NOTEBOOKS["005_tf_quickstart"] = [
    (
        "md",
        """\
# TensorFlow 2 quickstart for beginners, run with tinynn

TensorFlow's first tutorial ("TensorFlow 2 quickstart for beginners", tensorflow.org)
with one change, `import tinynn as tf` instead of `import tensorflow as tf`, and one
line of ours, `tf.set_seed(0)`, so that a re-run repeats the figures below. It
trains Flatten-128-Dropout-10 on MNIST for 5 epochs with Adam and a from-logits
loss, calls the untrained model on one image (`model(x).numpy()`), and wraps the
trained model in a `Sequential` with a `Softmax` layer. The tutorial reports about
98% test accuracy. The last cell is ours: it records the figures that
tests/test_notebooks.py checks.""",
    ),
    (
        "code",
        """\
import tinynn as tf
tf.set_seed(0)  # ours: the same weights, dropout and batches on every run
print("TensorFlow version:", tf.__version__)""",
    ),
    (
        "code",
        """\
mnist = tf.keras.datasets.mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0""",
    ),
    (
        "code",
        """\
model = tf.keras.models.Sequential([
  tf.keras.layers.Flatten(input_shape=(28, 28)),
  tf.keras.layers.Dense(128, activation='relu'),
  tf.keras.layers.Dropout(0.2),
  tf.keras.layers.Dense(10)
])""",
    ),
    (
        "code",
        """\
predictions = model(x_train[:1]).numpy()
predictions""",
    ),
    ("code", "tf.nn.softmax(predictions).numpy()"),
    (
        "code",
        "loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
    ),
    ("code", "loss_fn(y_train[:1], predictions).numpy()"),
    (
        "code",
        """\
model.compile(optimizer='adam',
              loss=loss_fn,
              metrics=['accuracy'])""",
    ),
    ("code", "model.fit(x_train, y_train, epochs=5)"),
    ("code", "model.evaluate(x_test,  y_test, verbose=2)"),
    (
        "code",
        """\
probability_model = tf.keras.Sequential([
  model,
  tf.keras.layers.Softmax()
])""",
    ),
    ("code", "probability_model(x_test[:5])"),
    (
        "code",
        """\
# Not in the tutorial: the figures tests/test_notebooks.py checks.
import json
import numpy as np
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
probabilities = probability_model(x_test[:5]).numpy()
results = {
    'test_accuracy': float(accuracy), 'tutorial_test_accuracy': 0.98,
    'first_loss': float(model.history.history['loss'][0]),
    'probabilities_sum_to_one': bool(np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)),
    'nested_matches_softmax_of_logits': bool(np.allclose(
        probabilities, tf.nn.softmax(model(x_test[:5])).numpy(), atol=1e-6)),
}
print('TINYNN_RESULTS', json.dumps(results))""",
    ),
]

# ---------------------------------------------------------------------------------
NOTEBOOKS["006_tf_basic_classification"] = [
    (
        "md",
        """\
# Basic classification: Fashion-MNIST (TensorFlow tutorial), run with tinynn

TensorFlow's "Basic classification: Classify images of clothing" tutorial with
`import tinynn as tf` instead of `import tensorflow as tf`, and one line of ours,
`tf.set_seed(0)`, so that a re-run repeats the figures below. It trains
Flatten-128-10 on Fashion-MNIST (`apt-get install dataset-fashion-mnist` puts the
files where `tf.keras.datasets.fashion_mnist.load_data()` finds them) for 10 epochs
and plots predictions. The tutorial reports about 0.91 training accuracy and 0.88
test accuracy. The last cell is ours: it records the figures that
tests/test_notebooks.py checks.""",
    ),
    (
        "code",
        """\
# TensorFlow and tf.keras
import tinynn as tf
tf.set_seed(0)  # ours: the same weights and batches on every run

# Helper libraries
import numpy as np
import matplotlib.pyplot as plt

print(tf.__version__)""",
    ),
    (
        "code",
        """\
fashion_mnist = tf.keras.datasets.fashion_mnist

(train_images, train_labels), (test_images, test_labels) = fashion_mnist.load_data()""",
    ),
    (
        "code",
        """\
class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']""",
    ),
    ("code", "train_images.shape"),
    ("code", "len(train_labels)"),
    ("code", "train_labels"),
    ("code", "test_images.shape"),
    ("code", "len(test_labels)"),
    (
        "code",
        """\
plt.figure()
plt.imshow(train_images[0])
plt.colorbar()
plt.grid(False)
plt.show()""",
    ),
    (
        "code",
        """\
train_images = train_images / 255.0

test_images = test_images / 255.0""",
    ),
    (
        "code",
        """\
plt.figure(figsize=(10,10))
for i in range(25):
    plt.subplot(5,5,i+1)
    plt.xticks([])
    plt.yticks([])
    plt.grid(False)
    plt.imshow(train_images[i], cmap=plt.cm.binary)
    plt.xlabel(class_names[train_labels[i]])
plt.show()""",
    ),
    (
        "code",
        """\
model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10)
])""",
    ),
    (
        "code",
        """\
model.compile(optimizer='adam',
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])""",
    ),
    ("code", "model.fit(train_images, train_labels, epochs=10)"),
    (
        "code",
        """\
test_loss, test_acc = model.evaluate(test_images,  test_labels, verbose=2)

print('\\nTest accuracy:', test_acc)""",
    ),
    (
        "code",
        """\
probability_model = tf.keras.Sequential([model,
                                         tf.keras.layers.Softmax()])""",
    ),
    ("code", "predictions = probability_model.predict(test_images)"),
    ("code", "predictions[0]"),
    ("code", "np.argmax(predictions[0])"),
    ("code", "test_labels[0]"),
    (
        "code",
        """\
def plot_image(i, predictions_array, true_label, img):
  true_label, img = true_label[i], img[i]
  plt.grid(False)
  plt.xticks([])
  plt.yticks([])

  plt.imshow(img, cmap=plt.cm.binary)

  predicted_label = np.argmax(predictions_array)
  if predicted_label == true_label:
    color = 'blue'
  else:
    color = 'red'

  plt.xlabel("{} {:2.0f}% ({})".format(class_names[predicted_label],
                                100*np.max(predictions_array),
                                class_names[true_label]),
                                color=color)

def plot_value_array(i, predictions_array, true_label):
  true_label = true_label[i]
  plt.grid(False)
  plt.xticks(range(10))
  plt.yticks([])
  thisplot = plt.bar(range(10), predictions_array, color="#777777")
  plt.ylim([0, 1])
  predicted_label = np.argmax(predictions_array)

  thisplot[predicted_label].set_color('red')
  thisplot[true_label].set_color('blue')""",
    ),
    (
        "code",
        """\
i = 0
plt.figure(figsize=(6,3))
plt.subplot(1,2,1)
plot_image(i, predictions[i], test_labels, test_images)
plt.subplot(1,2,2)
plot_value_array(i, predictions[i],  test_labels)
plt.show()""",
    ),
    (
        "code",
        """\
# Plot the first X test images, their predicted labels, and the true labels.
# Color correct predictions in blue and incorrect predictions in red.
num_rows = 5
num_cols = 3
num_images = num_rows*num_cols
plt.figure(figsize=(2*2*num_cols, 2*num_rows))
for i in range(num_images):
  plt.subplot(num_rows, 2*num_cols, 2*i+1)
  plot_image(i, predictions[i], test_labels, test_images)
  plt.subplot(num_rows, 2*num_cols, 2*i+2)
  plot_value_array(i, predictions[i], test_labels)
plt.tight_layout()
plt.show()""",
    ),
    (
        "code",
        """\
# Grab an image from the test dataset.
img = test_images[1]

print(img.shape)""",
    ),
    (
        "code",
        """\
# Add the image to a batch where it's the only member.
img = (np.expand_dims(img,0))

print(img.shape)""",
    ),
    (
        "code",
        """\
predictions_single = probability_model.predict(img)

print(predictions_single)""",
    ),
    (
        "code",
        """\
plot_value_array(1, predictions_single[0], test_labels)
_ = plt.xticks(range(10), class_names, rotation=45)
plt.show()""",
    ),
    ("code", "np.argmax(predictions_single[0])"),
    (
        "code",
        """\
# Not in the tutorial: the figures tests/test_notebooks.py checks.
import json
results = {
    'test_accuracy': float(test_acc), 'tutorial_test_accuracy': 0.88,
    'train_accuracy': float(model.history.history['accuracy'][-1]),
    'tutorial_train_accuracy': 0.91,
    'predictions_are_probabilities': bool(np.allclose(predictions.sum(axis=1), 1, atol=1e-5)),
    'single_matches_batch': bool(np.allclose(predictions_single[0], predictions[1], atol=1e-6)),
}
print('TINYNN_RESULTS', json.dumps(results))""",
    ),
]

# ---------------------------------------------------------------------------------
NOTEBOOKS["000_three_hidden_layers"] = [
    (
        "md",
        """\
# A TensorFlow 1 MLP, layer by layer, rebuilt with tinynn (article 000)

The article builds 784-500-600-300-10 with ReLU in TensorFlow 1 graph code:
placeholders for images and one-hot labels, every weight and bias drawn from
N(0, 1) (`tf.random_normal`, standard deviation 1, unscaled), softmax cross-entropy
on the logits, Adam with learning rate 0.001, batches of 100, 10 epochs over TF1's
55,000 training images; it prints the loss of the last batch of every epoch and the
test accuracy at the end.

tinynn does not emulate TF1 sessions; the same model is a `Sequential` with a linear
last layer and `from_logits=True`, which is exactly `softmax_cross_entropy_with_logits`.
Then the same run with Glorot initialisation (Keras's default) shows why
initialisation matters: unscaled N(0, 1) weights make activations grow by about
sqrt(fan_in) per layer, so the first logits are in the thousands.""",
    ),
    ("code", COMMON_SETUP),
    (
        "code",
        """\
(x_train, y_train), (x_test, y_test) = tn.datasets.mnist.load_data()
x_train = x_train[:55000].reshape(-1, 784) / 255.0
y_train = y_train[:55000]
x_test = x_test.reshape(-1, 784) / 255.0""",
    ),
    (
        "code",
        """\
def build(init):
    bias_init = init if init != 'glorot_uniform' else 'zeros'
    model = tn.Sequential([
        tn.layers.Dense(500, activation='relu', kernel_initializer=init,
                        bias_initializer=bias_init, input_shape=(784,)),
        tn.layers.Dense(600, activation='relu', kernel_initializer=init,
                        bias_initializer=bias_init),
        tn.layers.Dense(300, activation='relu', kernel_initializer=init,
                        bias_initializer=bias_init),
        tn.layers.Dense(10, kernel_initializer=init, bias_initializer=bias_init),
    ])
    model.compile(optimizer=tn.optimizers.Adam(learning_rate=0.001),
                  loss=tn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    return model

def train(model):
    report = tn.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(
        f'Epoch {epoch + 1} completed out of 10, last batch loss: '
        f"{model.history.batch_history['loss'][-1]:.4g}"))
    started = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=100, epochs=10, verbose=0,
                        callbacks=[report])
    seconds = (time.perf_counter() - started) / 10
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    print('Accuracy:', accuracy)
    return history, accuracy, seconds""",
    ),
    (
        "code",
        """\
tn.set_seed(0)
normal = build(tn.initializers.RandomNormal(mean=0.0, stddev=1.0))
first_logits = normal.predict(x_train[:100], verbose=0)
print('largest |logit| before training:', float(np.abs(first_logits).max()))
hist_normal, acc_normal, sec_normal = train(normal)""",
    ),
    (
        "code",
        """\
tn.set_seed(0)
glorot = build('glorot_uniform')
hist_glorot, acc_glorot, sec_glorot = train(glorot)""",
    ),
    (
        "code",
        """\
def window_mean(values, k=50):
    return np.convolve(values, np.ones(k) / k, mode='valid')

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for hist, name in ((hist_normal, 'N(0, 1)'), (hist_glorot, 'Glorot uniform')):
    loss = window_mean(hist.batch_history['loss'])
    axes[0].semilogy(np.arange(50, 50 + len(loss)), loss, label=name)
    axes[1].plot(range(1, 11), hist.history['accuracy'], marker='o', label=name)
axes[0].set_title('training loss, mean of 50 batches')
axes[0].set_xlabel('iteration (batch of 100)')
axes[0].set_ylabel('cross-entropy (nats, log scale)')
axes[1].set_title('training accuracy per epoch')
axes[1].set_xlabel('epoch'); axes[1].set_ylabel('accuracy (fraction correct)')
for ax in axes: ax.legend(); ax.grid(True, alpha=0.3)
plt.show()""",
    ),
    (
        "code",
        """\
results = {'test_accuracy_normal_init': acc_normal, 'test_accuracy_glorot': acc_glorot,
           'first_logit_magnitude': float(np.abs(first_logits).max()),
           'seconds_per_epoch': sec_glorot}
print('| run | test accuracy | seconds per epoch |')
print('|---|---|---|')
print(f'| article (N(0,1), TF1) | printed at the end of the run | - |')
print(f'| tinynn, N(0, 1) as in the article | {acc_normal:.4f} | {sec_normal:.2f} |')
print(f'| tinynn, Glorot uniform | {acc_glorot:.4f} | {sec_glorot:.2f} |')
print('TINYNN_RESULTS', json.dumps(results))""",
    ),
]

# ---------------------------------------------------------------------------------
NOTEBOOKS["003_overfitting_curves"] = [
    (
        "md",
        """\
# Two hidden layers, plain SGD, and the overfitting curves (article 003)

The article spells out a TensorFlow 1 MLP — 784 inputs, two hidden ReLU layers, a
10-way softmax — with small random weights, zero biases, categorical cross-entropy
on one-hot labels and plain stochastic gradient descent, run for 1,000 minibatch
iterations. It reaches about 95.5% test accuracy and plots accuracy and cost per
iteration for training and test batches, where the gap between the two shows
overfitting.

With tinynn: one-hot labels from `to_categorical`, `categorical_crossentropy`, and a
loop of 1,000 `train_on_batch` calls; every iteration also scores a test batch
with `test_on_batch`. Hidden sizes 256 and 128, batch 100, learning rate 0.5 (the
article does not print its values).""",
    ),
    ("code", COMMON_SETUP),
    (
        "code",
        """\
tn.set_seed(0)
(x_train, y_train), (x_test, y_test) = tn.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype('float32') / 255
x_test = x_test.reshape(-1, 784).astype('float32') / 255
Y_train = tn.keras.utils.to_categorical(y_train, 10)
Y_test = tn.keras.utils.to_categorical(y_test, 10)""",
    ),
    (
        "code",
        """\
small = tn.initializers.RandomNormal(stddev=0.05)
model = tn.Sequential([
    tn.layers.Dense(256, activation='relu', kernel_initializer=small, input_shape=(784,)),
    tn.layers.Dense(128, activation='relu', kernel_initializer=small),
    tn.layers.Dense(10, activation='softmax', kernel_initializer=small),
])
model.compile(optimizer=tn.optimizers.SGD(learning_rate=0.5),
              loss='categorical_crossentropy', metrics=['accuracy'])
rng = tn.random.generator()
curves = {'train_cost': [], 'train_acc': [], 'test_cost': [], 'test_acc': []}
started = time.perf_counter()
for iteration in range(1000):
    batch = rng.integers(0, len(x_train), 100)
    cost, acc = model.train_on_batch(x_train[batch], Y_train[batch])
    test_batch = rng.integers(0, len(x_test), 100)
    test_cost, test_acc = model.test_on_batch(x_test[test_batch], Y_test[test_batch])
    for key, value in zip(curves, (cost, acc, test_cost, test_acc)):
        curves[key].append(value)
seconds = time.perf_counter() - started
test_loss, test_accuracy = model.evaluate(x_test, Y_test, verbose=0)
print(f'test accuracy after 1,000 iterations: {test_accuracy:.4f} ({seconds:.1f} s)')""",
    ),
    (
        "code",
        """\
def smooth(values, k=20):
    return np.convolve(values, np.ones(k) / k, mode='valid')

fig, (ax_acc, ax_cost) = plt.subplots(1, 2, figsize=(12, 4))
ax_acc.plot(smooth(curves['train_acc']), label='train')
ax_acc.plot(smooth(curves['test_acc']), label='test')
ax_cost.plot(smooth(curves['train_cost']), label='train')
ax_cost.plot(smooth(curves['test_cost']), label='test')
ax_acc.set_title('accuracy per iteration (20-iteration mean)')
ax_cost.set_title('cost per iteration (20-iteration mean)')
ax_acc.set_ylabel('accuracy on the batch (fraction correct)')
ax_cost.set_ylabel('cross-entropy on the batch (nats)')
for ax in (ax_acc, ax_cost):
    ax.set_xlabel('iteration (batch of 100)'); ax.legend()
plt.show()""",
    ),
    (
        "code",
        """\
last = slice(-200, None)
results = {'test_accuracy': test_accuracy, 'article_test_accuracy': 0.955,
           'train_acc_last200': float(np.mean(curves['train_acc'][last])),
           'test_acc_last200': float(np.mean(curves['test_acc'][last])), 'seconds': seconds}
print('| figure | article | tinynn |')
print('|---|---|---|')
print(f"| test accuracy after 1,000 iterations | about 0.955 | {test_accuracy:.4f} |")
print('TINYNN_RESULTS', json.dumps(results))""",
    ),
]

# ---------------------------------------------------------------------------------
NOTEBOOKS["007_tf_data_mnist"] = [
    (
        "md",
        """\
# tf.data on MNIST, run with tinynn

TensorFlow's "Training a neural network on MNIST with Keras" feeds the model through a
`tf.data` pipeline: normalize each image with `map`, `cache`, `shuffle`, `batch`,
`prefetch`, then `model.fit(ds_train, validation_data=ds_test)`. It loads MNIST with
`tensorflow_datasets`; here `tf.keras.datasets.mnist.load_data()` gives the same
images as NumPy arrays and `tf.data.Dataset.from_tensor_slices` turns them into a
dataset. Everything else is the tutorial's code with `import tinynn as tf`. It
reports about 97-98% test accuracy after 6 epochs.

tinynn's pipelines are lazy and run in Python on NumPy arrays; the second half shows
the fast order (batch first, then map), a generator with an unknown length, and the
last cell records the figures tests/test_notebooks.py checks.""",
    ),
    (
        "code",
        """\
import tinynn as tf

tf.set_seed(0)  # ours: the same weights, shuffles and batches on every run
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
ds_train = tf.data.Dataset.from_tensor_slices((x_train, y_train))
ds_test = tf.data.Dataset.from_tensor_slices((x_test, y_test))
print(ds_train.element_spec, ds_train.cardinality().numpy())""",
    ),
    (
        "code",
        """\
def normalize_img(image, label):
  \"\"\"Normalizes images: `uint8` -> `float32`.\"\"\"
  return tf.cast(image, tf.float32) / 255., label

ds_train = ds_train.map(
    normalize_img, num_parallel_calls=tf.data.AUTOTUNE)
ds_train = ds_train.cache()
ds_train = ds_train.shuffle(60000)
ds_train = ds_train.batch(128)
ds_train = ds_train.prefetch(tf.data.AUTOTUNE)""",
    ),
    (
        "code",
        """\
ds_test = ds_test.map(
    normalize_img, num_parallel_calls=tf.data.AUTOTUNE)
ds_test = ds_test.batch(128)
ds_test = ds_test.cache()
ds_test = ds_test.prefetch(tf.data.AUTOTUNE)""",
    ),
    (
        "code",
        """\
model = tf.keras.models.Sequential([
  tf.keras.layers.Flatten(input_shape=(28, 28)),
  tf.keras.layers.Dense(128, activation='relu'),
  tf.keras.layers.Dense(10)
])
model.compile(
    optimizer=tf.keras.optimizers.Adam(0.001),
    loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
)

history = model.fit(
    ds_train,
    epochs=6,
    validation_data=ds_test,
)""",
    ),
    (
        "md",
        """\
## Beyond the tutorial: batch first, generators, unknown lengths

`map` calls its function once per element, in Python. Batching first calls it once
per batch instead, and a batch of a `from_tensor_slices` dataset is one slice (or,
shuffled, one `np.take`) of the original uint8 array: nothing is copied up front. A
Python generator works too; its length is unknown until the first epoch ends, so the
first progress bar counts `N/Unknown`, as in Keras.""",
    ),
    (
        "code",
        """\
import time
fast = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(60000).batch(128).map(normalize_img))
started = time.perf_counter()
batches = sum(1 for _ in fast)
print(f'{batches} batches in {time.perf_counter() - started:.2f} s')""",
    ),
    (
        "code",
        """\
def batches(x, y, size=256):
    for start in range(0, len(x), size):
        yield x[start:start + size] / 255.0, y[start:start + size]

model.fit(batches(x_train, y_train), epochs=1)
print(model.evaluate(batches(x_test, y_test), verbose=0))""",
    ),
    (
        "code",
        """\
# Not in the tutorial: the figures tests/test_notebooks.py checks.
import json
loss, accuracy = model.evaluate(ds_test, verbose=0)
results = {
    'tutorial_val_accuracy': float(history.history['val_sparse_categorical_accuracy'][-1]),
    'test_accuracy': float(accuracy),
    'train_cardinality': int(ds_train.cardinality()),
    'history_keys': sorted(history.history),
}
print('TINYNN_RESULTS', json.dumps(results))""",
    ),
]

# ---------------------------------------------------------------------------------
NOTEBOOKS["009_text_classification"] = [
    (
        "md",
        """\
# Text classification with TextVectorization, run with tinynn

TensorFlow's "Basic text classification" tutorial trains a sentiment classifier on
IMDB reviews: a `TextVectorization` layer turns raw strings into integer ids, an
`Embedding` learns a vector per word, `GlobalAveragePooling1D` averages them and a
`Dense` layer gives one score (a logit there; a sigmoid probability here). Its final model takes raw strings:
`Sequential([vectorize_layer, model, ...])`.

No download is possible here, so the reviews come from
`tinynn.datasets.toy_reviews`: short synthetic sentences built from word lists, with
a known rule (**positive when there are more positive than negative opinion words**),
generated the same way on every machine. The model is the tutorial's, with the
`TextVectorization` layer first, trained on the strings themselves. The second half
does the same with Keras 2's `Tokenizer` and `pad_sequences`, and the last cell
records the figures tests/test_notebooks.py checks.""",
    ),
    ("code", COMMON_SETUP),
    (
        "code",
        """\
import tinynn as tf

tf.set_seed(0)  # the same weights and batches on every run
(x_train, y_train), (x_test, y_test) = tf.datasets.toy_reviews.load_data()
print(len(x_train), 'training reviews,', len(x_test), 'test reviews;',
      f'{y_train.mean():.0%} positive')
for text, label in zip(x_train[:4], y_train[:4]):
    print(label, text)""",
    ),
    (
        "md",
        """\
## Vectorize the text

`adapt` builds the vocabulary from the training texts (most frequent first; id 0 is
padding and id 1 is `[UNK]`, for words it has not seen). Every review becomes
`sequence_length` ids, padded with zeros or cut.""",
    ),
    (
        "code",
        """\
max_features = 100
sequence_length = 40

vectorize_layer = tf.keras.layers.TextVectorization(
    max_tokens=max_features,
    output_mode='int',
    output_sequence_length=sequence_length)
vectorize_layer.adapt(x_train)

print(len(vectorize_layer.get_vocabulary()), 'tokens:', vectorize_layer.get_vocabulary()[:12])
print(x_train[0])
print(vectorize_layer([x_train[0]]).numpy())""",
    ),
    (
        "md",
        """\
## The model, strings in

`TextVectorization` is the first layer, so `fit`, `evaluate` and `predict` take the
texts as they are (a list or a NumPy array of strings). It has no weights: no
gradient flows into it; its integer ids reach the `Embedding` directly.""",
    ),
    (
        "code",
        """\
embedding_dim = 16
tf.keras.utils.set_random_seed(0)

model = tf.keras.Sequential([
  vectorize_layer,
  tf.keras.layers.Embedding(max_features, embedding_dim),
  tf.keras.layers.Dropout(0.2),
  tf.keras.layers.GlobalAveragePooling1D(),
  tf.keras.layers.Dropout(0.2),
  tf.keras.layers.Dense(1, activation='sigmoid')])

model.compile(loss=tf.keras.losses.BinaryCrossentropy(),
              optimizer='adam',
              metrics=[tf.keras.metrics.BinaryAccuracy()])""",
    ),
    (
        "code",
        """\
epochs = 60
history = model.fit(
    x_train, y_train,
    validation_data=(x_test, y_test),
    epochs=epochs, verbose=0)
model.summary()
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f'Loss: {loss:.4f}  Accuracy: {accuracy:.4f}')""",
    ),
    (
        "code",
        """\
history_dict = history.history
acc = history_dict['binary_accuracy']
val_acc = history_dict['val_binary_accuracy']
loss_values = history_dict['loss']
val_loss = history_dict['val_loss']
epochs_range = range(1, len(acc) + 1)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.plot(epochs_range, loss_values, 'bo', markersize=3, label='Training loss')
left.plot(epochs_range, val_loss, 'b', label='Validation loss')
left.set_title('Training and validation loss')
left.set_xlabel('Epochs')
left.legend()
right.plot(epochs_range, acc, 'bo', markersize=3, label='Training acc')
right.plot(epochs_range, val_acc, 'b', label='Validation acc')
right.set_title('Training and validation accuracy')
right.set_xlabel('Epochs')
right.set_ylim(0.4, 1.02)
right.legend(loc='lower right')
plt.show()""",
    ),
    (
        "md",
        """\
## New reviews, and the model on disk

`predict` takes new strings. Saved as `.keras` (or `.h5`, or tinynn's own format),
the vocabulary travels in the `TextVectorization` layer's config, so the reloaded
model gives the same predictions.""",
    ),
    (
        "code",
        """\
examples = [
  'the movie was great',
  'the acting was terrible and the plot was boring',
  'the music was superb but the script was dull and the ending felt silly',
]
probabilities = model.predict(examples, verbose=0)
for text, probability in zip(examples, probabilities[:, 0]):
    print(f'{probability:.3f}  {text}')

model.save('text_model.keras')
reloaded = tf.keras.models.load_model('text_model.keras')
same = bool(np.array_equal(reloaded.predict(examples, verbose=0), probabilities))
print('reloaded model gives the same predictions:', same)
import os
os.remove('text_model.keras')""",
    ),
    (
        "md",
        """\
## Keras 2's way: Tokenizer and pad_sequences

Older tutorials turn the texts into ids before the model: a `Tokenizer` learns the
word index (most frequent word first, id 0 never used), `texts_to_sequences` maps
each review to its ids and `pad_sequences` pads them to one length. The model then
starts at the `Embedding`.""",
    ),
    (
        "code",
        """\
tokenizer = tf.keras.preprocessing.text.Tokenizer(num_words=max_features, oov_token='<OOV>')
tokenizer.fit_on_texts(x_train)
pad = tf.keras.preprocessing.sequence.pad_sequences
ids_train = pad(tokenizer.texts_to_sequences(x_train), maxlen=sequence_length, padding='post')
ids_test = pad(tokenizer.texts_to_sequences(x_test), maxlen=sequence_length, padding='post')
print(ids_train.shape, ids_train[0][:12])

tf.keras.utils.set_random_seed(0)
ids_model = tf.keras.Sequential([
  tf.keras.layers.Embedding(max_features, embedding_dim),
  tf.keras.layers.GlobalAveragePooling1D(),
  tf.keras.layers.Dense(1, activation='sigmoid')])
ids_model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
ids_history = ids_model.fit(ids_train, y_train, validation_data=(ids_test, y_test),
                            epochs=epochs, batch_size=32, verbose=0)
print(f"Tokenizer model, test accuracy: {ids_history.history['val_accuracy'][-1]:.4f}")""",
    ),
    (
        "code",
        """\
# Not in the tutorial: the figures tests/test_notebooks.py checks.
results = {
    'test_accuracy': float(accuracy),
    'final_val_accuracy': float(val_acc[-1]),
    'first_val_accuracy': float(val_acc[0]),
    'tokenizer_val_accuracy': float(ids_history.history['val_accuracy'][-1]),
    'history_keys': sorted(history_dict),
    'example_positive': float(probabilities[0, 0]),
    'example_negative': float(probabilities[1, 0]),
    'reload_identical': same,
    'vocabulary_size': len(vectorize_layer.get_vocabulary()),
}
print('TINYNN_RESULTS', json.dumps(results))""",
    ),
]

# ---------------------------------------------------------------------------------
NOTEBOOKS["008_keras_mnist_convnet"] = [
    (
        "md",
        """\
# Simple MNIST convnet (keras.io), run with tinynn

keras.io's "Simple MNIST convnet" example in its TensorFlow 2 form, with
`import tinynn as tf` and `from tinynn import keras` in place of the TensorFlow
imports: Conv2D(32, 3x3, relu), MaxPooling2D, Conv2D(64, 3x3, relu),
MaxPooling2D, Flatten, Dropout(0.5), Dense(10, softmax), trained with Adam on
one-hot labels for 15 epochs of batch 128 with 10% held out for validation.
keras.io reports about 99% test accuracy. The accuracy plot and the last cell
are ours: the cell records the figures tests/test_notebooks.py checks.""",
    ),
    (
        "code",
        """\
import numpy as np
import tinynn as tf
from tinynn import keras
from tinynn.keras import layers

tf.set_seed(0)  # ours: the same weights, dropout and batches on every run""",
    ),
    (
        "code",
        """\
# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)

# Load the data and split it between train and test sets
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")


# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)""",
    ),
    (
        "code",
        """\
model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()""",
    ),
    (
        "code",
        """\
batch_size = 128
epochs = 15

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)""",
    ),
    (
        "code",
        """\
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])""",
    ),
    (
        "code",
        """\
# Not in the example: the accuracy curves and the figures tests/test_notebooks.py checks.
import json
import matplotlib.pyplot as plt
history = model.history.history
plt.plot(history["accuracy"], label="training")
plt.plot(history["val_accuracy"], label="validation")
plt.xlabel("epoch")
plt.ylabel("accuracy")
plt.legend()
plt.show()
results = {
    "test_accuracy": float(score[1]),
    "example_test_accuracy": 0.99,
    "final_val_accuracy": float(history["val_accuracy"][-1]),
    "epochs": len(history["loss"]),
}
print("TINYNN_RESULTS", json.dumps(results))""",
    ),
]


# ---------------------------------------------------------------------------------
NOTEBOOKS["010_geron_fashion_cnn"] = [
    (
        "md",
        """\
# A CNN for Fashion-MNIST in Géron's style, run with tinynn

Aurélien Géron's *Hands-On Machine Learning* (2nd edition, chapter 14, "A typical
CNN architecture") trains a small VGG-like convnet on Fashion-MNIST. This notebook
types his code as a reader of the book does, with `import tinynn as tf` and
`from tinynn import keras` in place of the TensorFlow imports: the last 5,000
training images held out for validation, every pixel standardised with the mean
and standard deviation of the training images, the `DefaultConv2D =
partial(keras.layers.Conv2D, kernel_size=3, activation="relu", padding="SAME")`
idiom, a 7x7 first convolution, two 3x3 convolutions after each max pooling with
the number of filters doubling each time, then Dense 128, Dropout 0.5, Dense 64,
Dropout 0.5 and a 10-way softmax, compiled with Nadam, and
`model.fit(..., validation_data=(X_valid, y_valid))`.

**What is scaled down from the book, and why.** The book's model (64, 128, 128,
256, 256 filters; 1,413,834 parameters) costs about 89 million multiply-adds per
image in its convolutions, 37 times the 2.4 million of keras.io's MNIST convnet
(notebook 008), whose epoch already takes about 12 s on the 2-core machine that
runs this project's tests: ten epochs of the book's model would take hours there.
So this notebook

- divides **every convolution's number of filters by 4**: 16, 32, 32, 64, 64
  instead of 64, 128, 128, 256, 256 (about 6.0 million multiply-adds per image,
  15 times fewer; 152,874 parameters), and
- trains for **5 epochs instead of 10**,

so that the whole notebook runs in about 2.5 minutes on that machine when nothing
else runs there (2.4 to 2.8 s per 5,000 training images; 3.3 minutes of CPU time in
all on its 2 cores). The epoch times printed below come from a run beside several
other jobs, hence slower. Everything else (the layer sequence, kernel sizes, padding, pooling, the dense head, the two
Dropout(0.5), Nadam, the batch size of 32, the data split and standardisation) is
the book's. The book reports over 92% test accuracy for its full-size model after
10 epochs; the smaller, shorter run here gets about 89% (the figure
tests/test_notebooks.py checks is in the last cell's output).

The book plots the learning curves with `pd.DataFrame(history.history).plot()`;
pandas is not a tinynn dependency, so the same curves are drawn with matplotlib
directly. The seed line follows the book's notebooks (`tf.random.set_seed(42)`
seeds tinynn's generator, and NumPy's), so a re-run repeats the figures below.
The image grid and the last cell are ours.""",
    ),
    (
        "code",
        """\
import numpy as np
import matplotlib.pyplot as plt
%matplotlib inline

import tinynn as tf
from tinynn import keras

np.random.seed(42)
tf.random.set_seed(42)""",
    ),
    (
        "code",
        """\
(X_train_full, y_train_full), (X_test, y_test) = keras.datasets.fashion_mnist.load_data()
X_train, X_valid = X_train_full[:-5000], X_train_full[-5000:]
y_train, y_valid = y_train_full[:-5000], y_train_full[-5000:]

X_mean = X_train.mean(axis=0, keepdims=True)
X_std = X_train.std(axis=0, keepdims=True) + 1e-7
X_train = (X_train - X_mean) / X_std
X_valid = (X_valid - X_mean) / X_std
X_test = (X_test - X_mean) / X_std

X_train = X_train[..., np.newaxis]
X_valid = X_valid[..., np.newaxis]
X_test = X_test[..., np.newaxis]
X_train.shape, X_valid.shape, X_test.shape""",
    ),
    (
        "code",
        """\
from functools import partial

DefaultConv2D = partial(keras.layers.Conv2D,
                        kernel_size=3, activation='relu', padding="SAME")

# The book's filters are 64, 128, 128, 256, 256: a quarter of each here (see above).
model = keras.models.Sequential([
    DefaultConv2D(filters=16, kernel_size=7, input_shape=[28, 28, 1]),
    keras.layers.MaxPooling2D(pool_size=2),
    DefaultConv2D(filters=32),
    DefaultConv2D(filters=32),
    keras.layers.MaxPooling2D(pool_size=2),
    DefaultConv2D(filters=64),
    DefaultConv2D(filters=64),
    keras.layers.MaxPooling2D(pool_size=2),
    keras.layers.Flatten(),
    keras.layers.Dense(units=128, activation='relu'),
    keras.layers.Dropout(0.5),
    keras.layers.Dense(units=64, activation='relu'),
    keras.layers.Dropout(0.5),
    keras.layers.Dense(units=10, activation='softmax'),
])
model.summary()""",
    ),
    (
        "code",
        """\
model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam",
              metrics=["accuracy"])
# The book trains for 10 epochs: 5 here (see above).
history = model.fit(X_train, y_train, epochs=5, validation_data=(X_valid, y_valid))
score = model.evaluate(X_test, y_test)
X_new = X_test[:10] # pretend we have new images
y_pred = model.predict(X_new)""",
    ),
    (
        "code",
        """\
# The book: pd.DataFrame(history.history).plot(figsize=(8, 5)); matplotlib here.
plt.figure(figsize=(8, 5))
for name, values in history.history.items():
    plt.plot(range(1, len(values) + 1), values, marker=".", label=name)
plt.grid(True)
plt.gca().set_ylim(0, 1)
plt.xticks(range(1, len(history.epoch) + 1))
plt.xlabel("epoch")
plt.legend()
plt.show()""",
    ),
    ("code", "score"),
    (
        "code",
        """\
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
y_pred_classes = np.argmax(y_pred, axis=-1)
plt.figure(figsize=(10, 4.5))
for index, image in enumerate(X_new):
    plt.subplot(2, 5, index + 1)
    plt.imshow(image[..., 0], cmap="binary", interpolation="nearest")
    plt.axis('off')
    plt.title(class_names[y_pred_classes[index]],
              color="black" if y_pred_classes[index] == y_test[index] else "red")
plt.subplots_adjust(wspace=0.2, hspace=0.5)
plt.show()""",
    ),
    (
        "code",
        """\
# Not in the book: the figures tests/test_notebooks.py checks.
import json
results = {
    "test_accuracy": float(score[1]),
    "book_test_accuracy": 0.92,
    "val_accuracy": [float(v) for v in history.history["val_accuracy"]],
    "epochs": len(history.history["loss"]),
    "filters": [layer.filters for layer in model.layers if hasattr(layer, "filters")],
    "total_params": model.count_params(),
    "fit_seconds": round(sum(history.epoch_seconds), 1),
    "predictions_are_probabilities": bool(np.allclose(y_pred.sum(axis=1), 1, atol=1e-5)),
}
print("TINYNN_RESULTS", json.dumps(results))""",
    ),
]


def as_displayed(text: str) -> str:
    """`text` as a notebook front end shows it: a carriage return rewinds to the
    start of its line, so only what follows the last one stays visible (a
    progress bar's final state); trailing blanks are dropped."""
    text = re.sub(r"\r+\n", "\n", text)
    return "\n".join(line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n"))


def tidy(name: str, notebook: nbformat.NotebookNode) -> None:
    """Make a re-run notebook diff cleanly against the last one: each cell's
    printed text stored as the reader sees it (consecutive stream outputs of
    one stream merged, carriage returns applied, so a fit's progress bar is
    one line per epoch instead of hundreds of updates), cell ids numbered
    instead of random, and no execution timestamps."""
    for number, cell in enumerate(notebook.cells):
        cell.id = f"{name[:3]}-{number:02d}"
        cell.metadata.pop("execution", None)
        merged: list = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (
                output.output_type == "stream"
                and previous is not None
                and previous.output_type == "stream"
                and previous.name == output.name
            ):
                previous.text += output.text
            else:
                merged.append(output)
        for output in merged:
            if output.output_type == "stream":
                output.text = as_displayed(output.text)
        if "outputs" in cell:
            cell.outputs = merged


def build(name: str) -> nbformat.NotebookNode:
    """A notebook object from the cell list `name`."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for kind, source in NOTEBOOKS[name]:
        make = (
            nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        )
        notebook.cells.append(make(source))
    return notebook


def main(selected: list[str]) -> None:
    for name in NOTEBOOKS:
        if selected and not any(name.startswith(s) for s in selected):
            continue
        notebook = build(name)
        NotebookClient(
            notebook,
            timeout=1800,
            kernel_name="python3",
            resources={"metadata": {"path": str(HERE)}},
        ).execute()
        tidy(name, notebook)
        nbformat.write(notebook, HERE / f"{name}.ipynb")
        print("wrote", name)


def tidy_only(selected: list[str]) -> None:
    """Apply tidy to the committed notebooks without running them."""
    for name in NOTEBOOKS:
        if selected and not any(name.startswith(s) for s in selected):
            continue
        path = HERE / f"{name}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        tidy(name, notebook)
        nbformat.write(notebook, path)
        print("tidied", name)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--tidy"]:
        tidy_only(sys.argv[2:])
    else:
        main(sys.argv[1:])
