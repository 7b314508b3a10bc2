'use strict';

module.exports = {
  serde: require('./serde'),
  serialization: require('./serialization'),
  deserialization: require('./deserialization'),
  invalid: require('./invalid'),
};
