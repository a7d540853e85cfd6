/** The most events in any sliding window of `windowMs` (times in ms, sorted ascending): what a rate limit sees. */
export function mostInAnyWindow(times: number[], windowMs = 1000): number {
  let most = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}
