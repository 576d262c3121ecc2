"""Evidence from real TF/Keras for tinynn's merge kernels (run in /work/kvenv)."""
import numpy as np, tensorflow as tf, keras, tf_keras
np.set_printoptions(precision=17)
def grads(layer, xs, dy):
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for t in ts: tape.watch(t)
        y = layer(ts)
    g = tape.gradient(y, ts, output_gradients=tf.constant(dy))
    return y.numpy(), [gi.numpy() if gi is not None else None for gi in g]
nan = np.nan
# columns: patterns of ties among 3 inputs
x0 = np.array([[1., 1., 1., 2., 1., 0., nan, 1., 1., nan, -0.0, 0.0]])
x1 = np.array([[1., 1., 2., 1., 2., 0., 1., nan, 1., nan, 0.0, -0.0]])
x2 = np.array([[1., 2., 1., 1., 2., 0., 1., 1., nan, 1., 0.0, 0.0]])
dy = np.arange(1., 13.).reshape(1, 12)
print("dtype check", keras.layers.Maximum(dtype="float64")([tf.constant(x0), tf.constant(x1)]).dtype)
for name, mod in (("K3", keras), ("K2", tf_keras)):
    for cls in ("Maximum", "Minimum"):
        y, g = grads(getattr(mod.layers, cls)(dtype="float64"), [x0, x1, x2], dy)
        print(name, cls, "out", y[0]); [print("   d x%d" % i, gi[0]) for i, gi in enumerate(g)]
    y, g = grads(mod.layers.Maximum(dtype="float64"), [x0, x1], dy)
    print(name, "Maximum 2 inputs out", y[0]); [print("   d x%d" % i, gi[0]) for i, gi in enumerate(g)]
# Average: divide or multiply?
rng = np.random.default_rng(0)
for n in (2, 3, 5, 6, 7):
    xs = [rng.standard_normal((64, 37)) for _ in range(n)]
    dyv = rng.standard_normal((64, 37))
    s = xs[0].copy()
    for x in xs[1:]: s = s + x
    for name, mod in (("K3", keras), ("K2", tf_keras)):
        y, g = grads(mod.layers.Average(dtype="float64"), xs, dyv)
        print(name, "Average n=%d" % n, "fwd==sum/n:", np.array_equal(y, s / n), "fwd==sum*(1/n):", np.array_equal(y, s * (1.0 / n)),
              "bwd==dy/n:", all(np.array_equal(gi, dyv / n) for gi in g), "bwd==dy*(1/n):", all(np.array_equal(gi, dyv * (1.0 / n)) for gi in g))
# Dot normalize epsilon
for name, mod in (("K3", keras), ("K2", tf_keras)):
    for scale in (1e-3, 1e-6, 1e-6 * 0.999, 1e-7, 5e-8, 1e-8):
        a = np.array([[scale, 0.0]]); b = np.array([[1.0, 1.0]])
        y, g = grads(mod.layers.Dot(axes=1, normalize=True, dtype="float64"), [a, b], np.array([[1.0]]))
        print(name, "Dot normalize |x|=%g" % scale, "out", y.ravel(), "dx", g[0].ravel(), "dy", g[1].ravel())
    a = rng.standard_normal((3, 4)); b = rng.standard_normal((3, 4))
    y, g = grads(mod.layers.Dot(axes=1, dtype="float64"), [a, b], np.ones((3, 1)))
    print(name, "Dot out shape", y.shape, "matches sum:", np.allclose(y[:, 0], (a * b).sum(1)))
    y, g = grads(mod.layers.Dot(axes=1, normalize=True, dtype="float64"), [a, b], np.ones((3, 1)))
    an = a / np.sqrt((a * a).sum(1, keepdims=True)); bn = b / np.sqrt((b * b).sum(1, keepdims=True))
    print(name, "Dot normalize matches:", np.allclose(y[:, 0], (an * bn).sum(1), rtol=1e-14))
# Maximum forward NaN in raw tf
print("tf.maximum(nan,1)", tf.maximum(tf.constant(nan), tf.constant(1.)).numpy(), "tf.maximum(1,nan)", tf.maximum(tf.constant(1.), tf.constant(nan)).numpy())
