package io.qlorastream.app.demo;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A loss curve as a PNG, drawn by hand with java.awt into a BufferedImage and written with ImageIO. No chart library:
 * one line plot with axes and a few ticks is a page of code, while a chart library (JFreeChart, XChart) would add a
 * dependency and megabytes to the fat jar for one picture. Headless: nothing here opens a window.
 */
public final class LossChart {
    public static final int WIDTH = 720;
    public static final int HEIGHT = 400;
    static final Color LINE = new Color(0x1f, 0x77, 0xb4);
    static final Color MARKER = new Color(0x2c, 0xa0, 0x2c);

    /** A labelled vertical line at a step: where a released snapshot was taken. */
    public record Marker(long step, String label) {
    }
    private static final int LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 50;

    private LossChart() {
    }

    /** Draws {@code points} (step, loss) titled {@code title}; an empty series gives the axes and a note. */
    public static BufferedImage draw(String title, List<DemoState.LossPoint> points) {
        return draw(title, points, List.of());
    }

    /** As {@link #draw(String, List)}, with a dashed vertical line and its label at each marker inside the steps drawn. */
    public static BufferedImage draw(String title, List<DemoState.LossPoint> points, List<Marker> markers) {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.setColor(Color.BLACK);
            g.drawString(title, LEFT, 22);
            int x0 = LEFT, y0 = HEIGHT - BOTTOM, x1 = WIDTH - RIGHT, y1 = TOP;
            g.drawLine(x0, y0, x1, y0);
            g.drawLine(x0, y0, x0, y1);
            g.drawString("step", (x0 + x1) / 2 - 12, HEIGHT - 12);
            g.drawString("loss", 8, TOP - 8);
            List<DemoState.LossPoint> finite = points.stream().filter(p -> Double.isFinite(p.loss())).toList();
            if (finite.isEmpty()) {
                g.drawString("no training steps", (x0 + x1) / 2 - 50, (y0 + y1) / 2);
                return img;
            }
            long minStep = finite.get(0).step(), maxStep = minStep;
            double minLoss = Double.MAX_VALUE, maxLoss = -Double.MAX_VALUE;
            for (DemoState.LossPoint p : finite) {
                minStep = Math.min(minStep, p.step());
                maxStep = Math.max(maxStep, p.step());
                minLoss = Math.min(minLoss, p.loss());
                maxLoss = Math.max(maxLoss, p.loss());
            }
            if (maxStep == minStep) {
                maxStep = minStep + 1;
            }
            double pad = Math.max(1e-6, (maxLoss - minLoss) * 0.05);
            minLoss = Math.max(0, minLoss - pad);
            maxLoss += pad;
            for (int i = 0; i <= 4; i++) { // ticks: five on each axis
                double lv = minLoss + (maxLoss - minLoss) * i / 4;
                int y = y0 - (int) Math.round((y0 - y1) * (double) i / 4);
                g.setColor(new Color(0xe0, 0xe0, 0xe0));
                g.drawLine(x0 + 1, y, x1, y);
                g.setColor(Color.BLACK);
                g.drawLine(x0 - 4, y, x0, y);
                g.drawString(String.format(Locale.ROOT, "%.2f", lv), 18, y + 4);
                long sv = minStep + Math.round((maxStep - minStep) * (double) i / 4);
                int x = x0 + (int) Math.round((x1 - x0) * (double) i / 4);
                g.drawLine(x, y0, x, y0 + 4);
                g.drawString(Long.toString(sv), x - 8, y0 + 18);
            }
            Path2D.Double line = new Path2D.Double();
            for (int i = 0; i < finite.size(); i++) {
                DemoState.LossPoint p = finite.get(i);
                double x = x0 + (x1 - x0) * (double) (p.step() - minStep) / (maxStep - minStep);
                double y = y0 - (y0 - y1) * (p.loss() - minLoss) / (maxLoss - minLoss);
                if (i == 0) {
                    line.moveTo(x, y);
                } else {
                    line.lineTo(x, y);
                }
            }
            for (Marker m : markers) {
                if (m.step() < minStep || m.step() > maxStep) {
                    continue;
                }
                int x = x0 + (int) Math.round((x1 - x0) * (double) (m.step() - minStep) / (maxStep - minStep));
                g.setColor(MARKER);
                g.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[]{4f, 4f}, 0f));
                g.drawLine(x, y0, x, y1);
                g.drawString(m.label(), Math.min(x + 3, x1 - 30), y1 + 12);
            }
            g.setColor(LINE);
            g.setStroke(new BasicStroke(1.5f));
            if (finite.size() == 1) {
                g.fillOval((int) line.getCurrentPoint().getX() - 3, (int) line.getCurrentPoint().getY() - 3, 6, 6);
            } else {
                g.draw(line);
            }
            return img;
        } finally {
            g.dispose();
        }
    }

    /** Draws and writes the PNG. */
    public static void write(Path file, String title, List<DemoState.LossPoint> points) throws IOException {
        write(file, title, points, List.of());
    }

    /** Draws (with markers) and writes the PNG. */
    public static void write(Path file, String title, List<DemoState.LossPoint> points, List<Marker> markers) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        if (!ImageIO.write(draw(title, points, markers), "png", file.toFile())) {
            throw new IOException("no PNG writer in this JVM");
        }
    }
}
