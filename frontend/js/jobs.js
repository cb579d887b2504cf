/**
 * Following a job: work the API started and did not wait for (API Gateway cuts every
 * request at 29 s, and a large shop's export takes longer). The API answers 202 with the
 * job; this polls GET /jobs/{id}, reports each progress line (in the merchant's words)
 * and resolves with the finished job's result, or rejects with its error as an ApiError
 * so pages show it like any other failure.
 */

import { ApiError } from "./api.js";

const FINAL = new Set(["succeeded", "failed"]);

export async function followJob(api, job, { onProgress = () => {}, intervalMs = 1000, maxWaitMs = 15 * 60 * 1000 } = {}) {
  const started = Date.now();
  let current = job;
  onProgress(current);
  while (!FINAL.has(current.status)) {
    if (Date.now() - started > maxWaitMs) {
      throw new ApiError("This is still running. It carries on without this page: come back in a few minutes and start it again only if it has not finished.", { code: "still_running" });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    current = await api.get(`/jobs/${encodeURIComponent(current.id)}`);
    onProgress(current);
  }
  if (current.status === "failed") {
    throw new ApiError(current.error?.message || "The job failed.", { code: current.error?.code || "job_failed" });
  }
  return current.result;
}

/**
 * A job is what a 202 answers (its id is "job_…"): figures the API had to start computing.
 */
export function isJob(answer) {
  return typeof answer?.id === "string" && answer.id.startsWith("job_") && typeof answer.progress === "string";
}

/**
 * GET figures that may have to be computed first (a past day the daily run did not store):
 * when the API answers 202 with a job, follow it (reporting its progress), then ask again:
 * the figures are stored by then. Resolves with the figures.
 */
export async function getFigures(api, path, { onProgress = () => {}, intervalMs = 1000 } = {}) {
  const answer = await api.get(path);
  if (!isJob(answer)) return answer;
  await followJob(api, answer, { onProgress, intervalMs });
  const figures = await api.get(path);
  if (isJob(figures)) {
    throw new ApiError("The figures were computed but could not be read yet: try again in a minute.", { code: "not_ready" });
  }
  return figures;
}

/**
 * An answer that may be a job (202: a preview or explanation of a day whose customers had
 * to be read first): follow it, reporting its progress; resolves with the job's result,
 * which is the answer itself. Any other answer is returned as it is.
 */
export async function answerOf(api, answer, { onProgress = () => {}, intervalMs = 1000 } = {}) {
  return isJob(answer) ? followJob(api, answer, { onProgress, intervalMs }) : answer;
}
