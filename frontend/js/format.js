/**
 * Numbers, money and dates as the merchant reads them: amounts in the shop's currency and
 * moments in the shop's time zone (both from GET /shop), whatever the browser's settings.
 * Calendar days from the API ("2026-11-24") are already the shop's days: they are shown as
 * they are, never shifted by a time zone.
 */

export function createFormatter({ currency, timezone, locale = navigator.language || "en-US" }) {
  const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
  const moneyFormats = new Map();
  const moment = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone: timezone });
  const calendarDay = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" });
  const isoDay = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: timezone });

  function moneyFormat(code) {
    if (!moneyFormats.has(code)) {
      moneyFormats.set(code, new Intl.NumberFormat(locale, { style: "currency", currency: code }));
    }
    return moneyFormats.get(code);
  }

  const missing = "–";
  return {
    currency,
    timezone,
    /** {amount, currency} from the API, or a plain number in the shop's currency. */
    money(value) {
      if (value === null || value === undefined) return missing;
      if (typeof value === "object") return moneyFormat(value.currency || currency).format(Number(value.amount));
      return moneyFormat(currency).format(Number(value));
    },
    integer: (value) => (value === null || value === undefined ? missing : integer.format(Number(value))),
    decimal: (value) => (value === null || value === undefined ? missing : decimal.format(Number(value))),
    /** A share between 0 and 1. */
    percent: (value) => (value === null || value === undefined ? missing : percent.format(Number(value))),
    /** A timestamp (ISO 8601 with zone) in the shop's time zone. */
    dateTime: (iso) => (iso ? moment.format(new Date(iso)) : missing),
    /** A calendar day "YYYY-MM-DD" of the shop, shown in the reader's words. */
    day: (day) => (day ? calendarDay.format(new Date(`${day}T00:00:00Z`)) : missing),
    /** Today in the shop's time zone, as "YYYY-MM-DD". */
    today: () => isoDay.format(new Date()),
    /** The shop's day `days` before `day` ("YYYY-MM-DD"). */
    daysBefore(day, days) {
      const date = new Date(`${day}T00:00:00Z`);
      date.setUTCDate(date.getUTCDate() - days);
      return date.toISOString().slice(0, 10);
    },
  };
}
