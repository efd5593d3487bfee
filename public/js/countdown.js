/**
 * Counts down from `seconds`: `onTick(secondsLeft)` each time the whole number changes, then
 * `onDone()`. Returns a function that stops it early. Driven by the clock, not by counting ticks,
 * so a throttled background tab still ends on time.
 */
export function countdown(seconds, onTick, onDone) {
  const end = Date.now() + seconds * 1000;
  let shown = null;
  let timer = null;
  const tick = () => {
    const left = Math.ceil((end - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timer);
      onDone();
    } else if (left !== shown) {
      shown = left;
      onTick(left);
    }
  };
  timer = setInterval(tick, 250);
  tick();
  return () => clearInterval(timer);
}
