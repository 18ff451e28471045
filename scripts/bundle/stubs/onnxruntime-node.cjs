// The smft bundle leaves out onnxruntime-node (288 MB); smft uses @huggingface/transformers for
// tokenizers only. transformers loads this through createRequire at start-up, so it must exist;
// running an ONNX model from the bundle fails with this message.
'use strict';
const unavailable = () => {
  throw new Error('ONNX Runtime is not part of the smft bundle');
};
class InferenceSession {
  static async create() {
    unavailable();
  }
}
class Tensor {
  constructor() {
    unavailable();
  }
}
module.exports = { InferenceSession, Tensor, env: {}, listSupportedBackends: () => [] };
