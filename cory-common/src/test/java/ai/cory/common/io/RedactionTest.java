package ai.cory.common.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import org.junit.jupiter.api.Test;

/** Credentials in URIs never reach what people read; everything else is left as it was. */
final class RedactionTest {

  @Test
  void theUserInfoOfEveryUriGoesAndTheRestStays() {
    assertEquals("cannot read s3a://***@bucket/runs/x: denied",
        Redaction.redact("cannot read s3a://AKIAEXAMPLE:wJalrXUtnFEMI%2FK7MDENG@bucket/runs/x: denied"));
    assertEquals("model.path = \"hdfs://***@nn:8020/m\", store = 'gs://***@b/x'",
        Redaction.redact("model.path = \"hdfs://alice:pw@nn:8020/m\", store = 'gs://token@b/x'"));
    String plain = "hdfs://nn:8020/runs/x, file:///tmp/a@b, mail me@example.com, s3a://bucket/k";
    assertEquals(plain, Redaction.redact(plain), "no user info: unchanged");
    assertNull(Redaction.redact(null));
  }

  @Test
  void settingsKeepTheirCredentialsForExecutorsButNotForTheRunDirectory() {
    Settings s = Settings.parse("cory.model.path = \"s3a://KEY:SECRET@bucket/model\"\ncory.task.data = x.jsonl\n"
        + "cory.reward.path = w.tsv\n");
    assertEquals("s3a://KEY:SECRET@bucket/model", s.model().path());
    assertTrue(s.render().contains("KEY:SECRET"), "executors need them");
    assertFalse(s.renderRedacted().contains("SECRET"), s.renderRedacted());
    assertEquals("s3a://***@bucket/model", Settings.parse(s.renderRedacted()).model().path());
  }
}
