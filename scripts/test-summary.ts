/** Prints "N passed, N failed" from bun's JUnit report: the line CI reads to count the suite. */
export {}
const file = process.argv[2] ?? '.test-tmp/junit.xml'
const xml = await Bun.file(file)
  .text()
  .catch(() => '')
const root = xml.match(/<testsuites\b[^>]*>/)?.[0]
if (!root) {
  console.log('0 passed, 1 failed')
  console.error(`no JUnit report at ${file}: the test run did not finish`)
  process.exit(1)
}
const attr = (name: string) => Number(root.match(new RegExp(`\\b${name}="(\\d+)"`))?.[1] ?? 0)
const failed = attr('failures') + attr('errors')
const skipped = attr('skipped')
const passed = attr('tests') - failed - skipped
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
