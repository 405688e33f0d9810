// RequireJS resolves the widget manager's modules, and with them its fonts, from baseUrl:
// make that the book's own _static folder (this file's folder), not the page's.
require.config({ baseUrl: new URL(".", document.currentScript.src).href });
