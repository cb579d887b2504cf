/**
 * Presigned S3 URLs (CSV uploads, export downloads). In AWS the browser talks to S3
 * directly. Locally moto serves S3 only inside the `seglift serve` process, so config.json
 * names a relay ("s3Relay") on the dashboard's own server that replays the request there.
 */

let relayPath = null;

export function configureS3(config) {
  relayPath = config.mode === "development" && config.s3Relay ? config.s3Relay : null;
}

/** The URL the browser should use for a presigned S3 URL. */
export function s3Url(presignedUrl) {
  return relayPath ? `${relayPath}?url=${encodeURIComponent(presignedUrl)}` : presignedUrl;
}

/**
 * Send a file with a presigned POST form from the API ({url, fields}): every field, in
 * order, then the file last, as S3 requires. The form's signed policy fixes the key, the
 * retention tag and the largest size, so S3 itself refuses a file that is too big.
 * An Error in words when S3 refuses it.
 */
export async function postToPresignedForm(upload, file) {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  form.append("file", file);
  let response;
  try {
    response = await fetch(s3Url(upload.url), { method: "POST", body: form });
  } catch (error) {
    throw new Error(`The file could not be sent to storage (${error.message}); try again.`);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => "");
    if (text.includes("EntityTooLarge")) {
      throw new Error(`The file is larger than ${upload.max_bytes} bytes, the most a list accepts; split it.`);
    }
    throw new Error(`Storage refused the file (HTTP ${response.status}); request a new upload and try again.`);
  }
}
