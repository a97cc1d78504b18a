package io.sluice.admin.doctor;

import java.util.ArrayList;
import java.util.List;

/** A plain-text table with aligned columns: numbers right-aligned, text left-aligned. Not thread-safe. */
final class Table {
    private final String[] headers;
    private final boolean[] right;
    private final List<String[]> rows = new ArrayList<>();

    /** A header starting with '>' names a right-aligned column (the '>' is not printed). */
    Table(String... headers) {
        this.headers = new String[headers.length];
        this.right = new boolean[headers.length];
        for (int i = 0; i < headers.length; i++) {
            right[i] = headers[i].startsWith(">");
            this.headers[i] = right[i] ? headers[i].substring(1) : headers[i];
        }
    }

    Table row(Object... cells) {
        String[] r = new String[headers.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = i < cells.length && cells[i] != null ? String.valueOf(cells[i]) : "";
        }
        rows.add(r);
        return this;
    }

    boolean isEmpty() {
        return rows.isEmpty();
    }

    /** Renders with {@code indent} before every line; a table without headers prints only rows. */
    void render(StringBuilder out, String indent, boolean withHeaders) {
        int[] width = new int[headers.length];
        for (int i = 0; i < headers.length; i++) {
            width[i] = withHeaders ? headers[i].length() : 0;
            for (String[] r : rows) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        if (withHeaders) {
            line(out, indent, headers, width);
        }
        for (String[] r : rows) {
            line(out, indent, r, width);
        }
    }

    private void line(StringBuilder out, String indent, String[] cells, int[] width) {
        StringBuilder l = new StringBuilder(indent);
        for (int i = 0; i < cells.length; i++) {
            String c = cells[i];
            boolean last = i == cells.length - 1;
            if (right[i]) {
                l.append(" ".repeat(width[i] - c.length())).append(c);
            } else {
                l.append(c);
                if (!last) {
                    l.append(" ".repeat(width[i] - c.length()));
                }
            }
            if (!last) {
                l.append("  ");
            }
        }
        out.append(l.toString().stripTrailing()).append('\n');
    }
}
