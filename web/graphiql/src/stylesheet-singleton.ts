/**
 * react-style-singleton's `stylesheetSingleton`, on a constructed stylesheet.
 *
 * GraphiQL's dialogs (Radix, through react-remove-scroll) lock the page's
 * scroll by adding a <style> element, which the page's Content-Security-Policy
 * (style-src 'self') refuses. A constructed stylesheet is CSSOM, which the
 * policy leaves alone. build.mjs puts this module in place of the package's.
 */
export function stylesheetSingleton() {
  let counter = 0;
  let sheet: CSSStyleSheet | null = null;
  return {
    add(style: string): void {
      if (counter === 0) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(style);
        document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
      }
      counter++;
    },
    remove(): void {
      counter--;
      if (counter === 0 && sheet !== null) {
        const added = sheet;
        document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== added);
        sheet = null;
      }
    },
  };
}
