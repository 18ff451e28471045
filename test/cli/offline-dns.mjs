// Preloaded with `node --import` by test/cli/bad-input.test.ts: every DNS lookup fails as it does
// on a machine without network, so `smft data fetch` takes its offline path without ever
// touching the network, whether or not the machine running the tests has one.
import dns from 'node:dns';

const offline = (host) => Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host, syscall: 'getaddrinfo' });
dns.lookup = (host, opts, cb) => { process.nextTick(typeof opts === 'function' ? opts : cb, offline(host)); };
dns.promises.lookup = async (host) => { throw offline(host); };
