'use strict';

module.exports = [
  {
    name: 'binary numbers',
    value: 10,
    serialized: '0b1010',
  },
  {
    name: 'octal numbers',
    value: 83,
    serialized: '0o123',
  },
  {
    name: 'hexadecimal numbers',
    value: 0xff,
    serialized: '0xff',
  },
  {
    name: 'hexadecimal numbers in upper case',
    value: 0xaf,
    serialized: '0xAF',
  },
];
