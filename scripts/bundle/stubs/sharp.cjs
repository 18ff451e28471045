// The smft bundle leaves out sharp (image decoding for @huggingface/transformers' vision
// pipelines); smft uses transformers for tokenizers only. Truthy, so transformers loads.
module.exports = function sharp() {
  throw new Error('image processing (sharp) is not part of the smft bundle');
};
