package ai.cory.driver.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real browser for the report tests: Debian's Chromium ({@code apt-get install chromium};
 * {@code .ci/run} installs it), headless, run once per page with {@code --dump-dom}, which prints
 * the DOM after the page's scripts and image loads. Tests using it are skipped when it is absent.
 */
final class HeadlessChromium {
  private HeadlessChromium() {}

  /** The browser: {@code $CHROMIUM}, else {@code /usr/bin/chromium}; the test is skipped without one. */
  static Path binary() {
    String configured = System.getenv("CHROMIUM");
    Path bin = Path.of(configured != null ? configured : "/usr/bin/chromium");
    assumeTrue(Files.isExecutable(bin), "no Chromium at " + bin + " (apt-get install chromium); browser test skipped");
    return bin;
  }

  /** The DOM of {@code page} once loaded, as Chromium serialises it. */
  static String dumpDom(Path page) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("cory-chromium");
    Path stdout = profile.resolve("dom.html");
    // the flags keep a sandboxed, offline machine quiet: no sandbox as root, no GPU, no network
    // calls of its own (the page is a local file)
    Process p = new ProcessBuilder(List.of(binary().toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--user-data-dir=" + profile, "--allow-file-access-from-files",
        "--virtual-time-budget=10000", "--dump-dom", page.toUri().toString()))
        .redirectOutput(stdout.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish in 120 s");
    assertEquals(0, p.exitValue(), "chromium exit code");
    return Files.readString(stdout, StandardCharsets.UTF_8);
  }
}
