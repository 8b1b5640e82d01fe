package dev.shakenet.plot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Draws a run's curves from its metrics.jsonl with JFreeChart: accuracy and loss per epoch
 * (train blue, test orange, as matplotlib users expect) and the learning rate, with the final
 * test accuracy in the title. Several runs overlay: one colour per run, train dashed, test solid.
 */
public final class Curves {
    public static final String FILE = "curves.png";
    public static final int WIDTH = 1500, HEIGHT = 520;
    private static final Color BLUE = new Color(0x1f, 0x77, 0xb4), ORANGE = new Color(0xff, 0x7f, 0x0e);
    private static final Color[] RUN_COLORS = {BLUE, ORANGE, new Color(0x2c, 0xa0, 0x2c), new Color(0xd6, 0x27, 0x28),
            new Color(0x94, 0x67, 0xbd), new Color(0x8c, 0x56, 0x4b), new Color(0xe3, 0x77, 0xc2), new Color(0x7f, 0x7f, 0x7f)};
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One run's metrics, as read from metrics.jsonl. */
    record Run(String name, List<JsonNode> epochs) {
        Double finalTestAccuracy() {
            for (int i = epochs.size() - 1; i >= 0; i--) {
                JsonNode acc = epochs.get(i).get("test_accuracy");
                if (acc != null && acc.isNumber()) return acc.asDouble();
            }
            return null;
        }
    }

    private Curves() {}

    /** Redraws {@code runDir}/curves.png from {@code runDir}/metrics.jsonl. */
    public static Path drawRun(Path runDir) throws IOException {
        Path out = runDir.resolve(FILE);
        draw(List.of(runDir), out);
        return out;
    }

    /** Draws the runs in {@code runDirs} into one PNG at {@code out}. */
    public static void draw(List<Path> runDirs, Path out) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Run> runs = new ArrayList<>();
        for (Path dir : runDirs) runs.add(read(dir));
        boolean single = runs.size() == 1;
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        g.drawString(title(runs), 20, 30);
        int panel = WIDTH / 3;
        chart(runs, "accuracy", "accuracy (%)", "train_accuracy", "test_accuracy", 100, single).draw(g, new Rectangle2D.Double(0, 45, panel, HEIGHT - 45));
        chart(runs, "loss", "cross-entropy loss", "train_loss", "test_loss", 1, single).draw(g, new Rectangle2D.Double(panel, 45, panel, HEIGHT - 45));
        chart(runs, "learning rate", "learning rate (end of epoch)", "lr", null, 1, single).draw(g, new Rectangle2D.Double(2 * panel, 45, panel, HEIGHT - 45));
        g.dispose();
        Path tmp = out.toAbsolutePath().resolveSibling("." + out.getFileName() + ".tmp");
        try (OutputStream stream = Files.newOutputStream(tmp)) {
            ImageIO.write(image, "png", stream);
        }
        Files.move(tmp, out, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    static Run read(Path runDir) throws IOException {
        Path file = runDir.resolve("metrics.jsonl");
        if (!Files.isRegularFile(file)) throw new IOException(runDir + " has no metrics.jsonl: is it a run folder?");
        List<JsonNode> epochs = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) continue;
            try {
                epochs.add(JSON.readTree(line));
            } catch (IOException e) {
                break; // a torn last line of a run that is being written
            }
        }
        return new Run(runDir.toAbsolutePath().normalize().getFileName().toString(), epochs);
    }

    private static String title(List<Run> runs) {
        if (runs.size() == 1) {
            Run run = runs.getFirst();
            Double acc = run.finalTestAccuracy();
            return run.name() + ": " + run.epochs().size() + " epochs, final test accuracy "
                    + (acc == null ? "n/a" : String.format("%.2f%%", 100 * acc));
        }
        StringBuilder s = new StringBuilder("final test accuracy: ");
        for (Run run : runs) {
            Double acc = run.finalTestAccuracy();
            s.append(run.name()).append(' ').append(acc == null ? "n/a" : String.format("%.2f%%", 100 * acc)).append("   ");
        }
        return s.toString().trim();
    }

    private static JFreeChart chart(List<Run> runs, String title, String yLabel, String trainKey, String testKey, double scale, boolean single) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        int series = 0;
        for (int r = 0; r < runs.size(); r++) {
            Run run = runs.get(r);
            String prefix = single ? "" : run.name() + " ";
            boolean few = run.epochs().size() <= 40;
            for (String key : testKey == null ? new String[] {trainKey} : new String[] {trainKey, testKey}) {
                String label = testKey == null ? prefix + "lr" : prefix + (key.equals(trainKey) ? "train" : "test");
                XYSeries s = new XYSeries(label.isBlank() ? key : label.trim());
                for (JsonNode epoch : run.epochs()) {
                    JsonNode v = epoch.get(key);
                    if (v != null && v.isNumber()) s.add(epoch.get("epoch").asDouble(), v.asDouble() * scale);
                }
                data.addSeries(s);
                boolean train = key.equals(trainKey) && testKey != null;
                Color color = single ? (testKey == null || train ? BLUE : ORANGE) : RUN_COLORS[r % RUN_COLORS.length];
                renderer.setSeriesPaint(series, color);
                renderer.setSeriesStroke(series, !single && train
                        ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f)
                        : new BasicStroke(2f));
                renderer.setSeriesShapesVisible(series, few);
                series++;
            }
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, "epoch", yLabel, data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setRenderer(renderer);
        plot.getDomainAxis().setStandardTickUnits(org.jfree.chart.axis.NumberAxis.createIntegerTickUnits()); // whole epochs
        ((org.jfree.chart.axis.NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
        plot.setRangeGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }
}
