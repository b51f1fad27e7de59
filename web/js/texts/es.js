// Spanish texts: filled in from en.js (same keys).
export default {};
