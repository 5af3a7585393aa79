/**
 * Gradient functions for tf.variableGrads. tfjs-core's Node bundle
 * (dist/tf-core.node.js, what `import '@tensorflow/tfjs-core'` loads in Node)
 * registers no gradients; the union package's Node bundle registers all of
 * them into the same global registry. Import this module for its side effect
 * wherever gradients are taken.
 */
import '@tensorflow/tfjs';
