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
 * PUT a file to a presigned upload URL with the headers the API named (its SigV4 signature
 * covers them, e.g. x-amz-tagging); an Error in words when S3 refuses it.
 */
export async function putToPresignedUrl(presignedUrl, file, signedHeaders = {}) {
  let response;
  try {
    response = await fetch(s3Url(presignedUrl), {
      method: "PUT",
      body: file,
      headers: { "Content-Type": file.type || "text/csv", ...signedHeaders },
    });
  } catch (error) {
    throw new Error(`The file could not be sent to storage (${error.message}); try again.`);
  }
  if (!response.ok) {
    throw new Error(`Storage refused the file (HTTP ${response.status}); request a new upload and try again.`);
  }
}
