#!/usr/bin/env python3
"""TensorFlow/Keras (CPU, fp32) reference for `gpu-train bench`: the same Siamese
network and training step, in pairs/s and images/s.

The model is built as the original work did in Keras: one encoder model applied to
both inputs (channels-last, 'same' padding, max pooling with 'same' padding, which is
ceil mode). One training step runs in a compiled tf.function: both branches, the head
on |e1 - e2| (a logit), BCE from logits (mean), gradients, Keras Adam (lr 1e-4, betas
0.9/0.999, epsilon 1e-7). Inference: the encoder alone on 256 images, compiled.

    .venv-bench/bin/python bench/reference/tf_bench.py [--json FILE]
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    started = time.perf_counter()
    args = harness.parse_args(__doc__.split("\n")[0])
    contention = harness.Contention()

    import numpy as np
    import tensorflow as tf
    import keras
    from keras import layers

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(0)
    c1, c2, c3, c4 = args.channels

    encoder = keras.Sequential([
        keras.Input((32, 32, 1)),
        layers.Conv2D(c1, 5, padding="same", activation="relu"),
        layers.MaxPooling2D(2, padding="same"),
        layers.Conv2D(c2, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2, padding="same"),
        layers.Conv2D(c3, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2, padding="same"),
        layers.Conv2D(c4, 3, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(args.embedding, activation="sigmoid"),
    ], name="encoder")
    left_in = keras.Input((32, 32, 1))
    right_in = keras.Input((32, 32, 1))
    distance = layers.Lambda(lambda e: tf.abs(e[0] - e[1]))([encoder(left_in), encoder(right_in)])
    logit = layers.Dense(1)(distance)
    model = keras.Model([left_in, right_in], logit)

    opt = keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(left, right, labels):
        with tf.GradientTape() as tape:
            logits = model([left, right], training=True)
            loss = bce(labels, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    rng = np.random.default_rng(0)

    def train_step_for(batch):
        left = tf.constant(rng.random((batch, 32, 32, 1), dtype=np.float32))
        right = tf.constant(rng.random((batch, 32, 32, 1), dtype=np.float32))
        labels = tf.constant(rng.integers(0, 2, (batch, 1)).astype(np.float32))

        def step():
            train_step(left, right, labels).numpy()  # the loss reaches the host
        return step

    train = {}
    for batch in args.batches:
        train[batch] = harness.measure(train_step_for(batch), batch, args.repeats, args.min_seconds)
        print(f"train batch {batch}: {train[batch]['median']:.1f} pairs/s", flush=True)

    images = tf.constant(rng.random((args.inference_batch, 32, 32, 1), dtype=np.float32))

    @tf.function
    def embed(x):
        return encoder(x, training=False)

    def infer():
        embed(images).numpy()

    inference = harness.measure(infer, args.inference_batch, args.repeats, args.min_seconds)
    harness.report(f"tensorflow {tf.__version__}", args, train, inference, started, contention,
                   extra={"keras": keras.__version__, "adam": "keras"})


if __name__ == "__main__":
    main()
