// `npm start` runs the TypeScript sources through tsx, whose loader hooks run on a thread of their
// own: every module imported after they are registered makes round trips to it, about 1.5 ms each
// on this machine. typebox is some 370 ES modules and libphonenumber-js another 90, most of what the
// server imports; loaded here first, in plain Node.js, they skip the hooks, and the sources find
// them in the module cache. Nothing depends on this: without it they load through tsx, slower.
await import('typebox');
await import('libphonenumber-js/max');
await import('tsx');
