// The smft bundle (for GPU hosts) leaves out onnxruntime-node (288 MB): it rates on WebGPU, and
// uses @huggingface/transformers for tokenizers only. transformers loads this through
// createRequire at start-up, so it must exist; smft's ONNX Runtime engine sees `smftStub` and
// reports ONNX Runtime as unavailable (--backend auto then uses TF.js).
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
module.exports = { InferenceSession, Tensor, env: {}, listSupportedBackends: () => [], smftStub: true };
