package io.qlorastream.app.demo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LossChartTest {
    @Test
    void aFallingCurveIsDrawnAsALineFromUpperLeftToLowerRightInAPngThatDecodes(@TempDir Path dir) throws Exception {
        List<DemoState.LossPoint> points = new ArrayList<>();
        for (int s = 1; s <= 100; s++) {
            points.add(new DemoState.LossPoint(s, 7.0 - 2.0 * s / 100));
        }
        Path png = dir.resolve("sub/loss.png");
        LossChart.write(png, "training loss per step: support", points);
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img).as("decodes as PNG").isNotNull();
        assertThat(img.getWidth()).isEqualTo(LossChart.WIDTH);
        assertThat(img.getHeight()).isEqualTo(LossChart.HEIGHT);
        // the line's colour appears in the left third high up and in the right third low down, not the other way round
        assertThat(lineRows(img, 0, LossChart.WIDTH / 3)).isNotEmpty();
        double leftMean = lineRows(img, 0, LossChart.WIDTH / 3).stream().mapToInt(Integer::intValue).average().orElseThrow();
        double rightMean = lineRows(img, 2 * LossChart.WIDTH / 3, LossChart.WIDTH).stream().mapToInt(Integer::intValue).average().orElseThrow();
        assertThat(leftMean).isLessThan(rightMean - 100); // image rows grow downwards
    }

    @Test
    void anEmptyOrOnePointSeriesStillGivesAValidPicture(@TempDir Path dir) throws Exception {
        LossChart.write(dir.resolve("empty.png"), "none", List.of());
        assertThat(ImageIO.read(dir.resolve("empty.png").toFile())).isNotNull();
        assertThat(lineRows(ImageIO.read(dir.resolve("empty.png").toFile()), 0, LossChart.WIDTH)).isEmpty();
        LossChart.write(dir.resolve("one.png"), "one", List.of(new DemoState.LossPoint(3, 2.5), new DemoState.LossPoint(4, Double.NaN)));
        assertThat(lineRows(ImageIO.read(dir.resolve("one.png").toFile()), 0, LossChart.WIDTH)).isNotEmpty();
    }

    @Test
    void aReleaseMarkerIsAVerticalLineAtItsStep(@TempDir Path dir) throws Exception {
        List<DemoState.LossPoint> points = List.of(new DemoState.LossPoint(0, 7), new DemoState.LossPoint(100, 5));
        BufferedImage with = LossChart.draw("t", points, List.of(new LossChart.Marker(50, "v1"), new LossChart.Marker(500, "off")));
        BufferedImage without = LossChart.draw("t", points);
        int middle = 70 + (LossChart.WIDTH - 20 - 70) / 2; // half way between the plot's left and right edges
        long greenWith = 0;
        long greenWithout = 0;
        for (int y = 0; y < LossChart.HEIGHT; y++) {
            greenWith += with.getRGB(middle, y) == LossChart.MARKER.getRGB() ? 1 : 0;
            greenWithout += without.getRGB(middle, y) == LossChart.MARKER.getRGB() ? 1 : 0;
        }
        assertThat(greenWith).isGreaterThan(100); // dashed: about half of the plot's 310 rows
        assertThat(greenWithout).isZero();
    }

    /** Rows of pixels in columns [from, to) close to the line's colour (antialiasing blends its edges). */
    private static List<Integer> lineRows(BufferedImage img, int from, int to) {
        List<Integer> rows = new ArrayList<>();
        int want = LossChart.LINE.getRGB() & 0xffffff;
        for (int x = from; x < to; x++) {
            for (int y = 0; y < img.getHeight(); y++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                if (Math.abs(((rgb >> 16) & 255) - ((want >> 16) & 255)) < 24 && Math.abs(((rgb >> 8) & 255) - ((want >> 8) & 255)) < 24
                        && Math.abs((rgb & 255) - (want & 255)) < 24) {
                    rows.add(y);
                }
            }
        }
        return rows;
    }
}
