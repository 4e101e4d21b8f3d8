package dev.graft.loaders.labels;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.dataformat.csv.CsvFactory;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import dev.graft.loaders.images.DatasetException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A CSV file read whole (RFC 4180 through jackson-dataformat-csv): the header and the rows, each with the line it
 * starts on (a quoted field may span lines). Every row must have as many fields as the header; a row that does not,
 * or a quote that is never closed, is a {@link DatasetException} naming the file and line. Blank lines are skipped.
 */
record CsvRows(Path file, List<String> header, List<Row> rows) {

    /** One record: its first line (1-based, the header is line 1) and its fields. */
    record Row(int line, String[] cells) {
    }

    static CsvRows read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DatasetException("label file " + file + " does not exist or is not a file");
        }
        CsvFactory factory = CsvFactory.builder()
                .enable(CsvParser.Feature.SKIP_EMPTY_LINES).build();
        List<String> header = null;
        List<Row> rows = new ArrayList<>();
        int line = 0;
        try (CsvParser p = (CsvParser) factory.createParser(file.toFile())) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t != JsonToken.START_ARRAY) {
                    continue;
                }
                line++; // the row after the last one, until its first field says where it starts
                List<String> cells = new ArrayList<>();
                while ((t = p.nextToken()) != JsonToken.END_ARRAY && t != null) {
                    if (cells.isEmpty()) {
                        line = p.currentTokenLocation().getLineNr(); // START_ARRAY's location is the previous line's end
                    }
                    cells.add(p.getText());
                }
                if (header == null) {
                    if (!cells.isEmpty() && cells.get(0).startsWith("\uFEFF")) {
                        cells.set(0, cells.get(0).substring(1)); // a UTF-8 byte order mark, as spreadsheet programs write
                    }
                    header = List.copyOf(cells.stream().map(String::trim).toList());
                    continue;
                }
                if (cells.size() != header.size()) {
                    throw new DatasetException(file + " line " + line + ": malformed row: " + cells.size() + " fields where the header has "
                            + header.size() + "; quote a field that holds a comma (\"a,b\") and check the row for a missing or extra comma");
                }
                rows.add(new Row(line, cells.toArray(String[]::new)));
            }
        } catch (StreamReadException e) {
            int at = line + (header == null ? 1 : 0);
            throw new DatasetException(file + " line " + Math.max(at, 1) + " (or the record after it): malformed CSV: "
                    + e.getOriginalMessage() + "; a field that starts with a double quote must end with one (write a quote inside "
                    + "a quoted field as \"\")", e);
        } catch (IOException e) {
            throw new DatasetException("cannot read label file " + file + ": " + e.getMessage(), e);
        }
        if (header == null) {
            throw new DatasetException("label file " + file + " is empty: it needs a header row and one row per image");
        }
        return new CsvRows(file, header, rows);
    }

    /** Column name -> index; a duplicated column name is an error (which of the two would hold the labels?). */
    Map<String, Integer> columns() {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < header.size(); i++) {
            if (m.put(header.get(i), i) != null) {
                throw new DatasetException(file + " line 1: the column '" + header.get(i) + "' appears twice in the header");
            }
        }
        return m;
    }

    /** The index of a required column, or an error listing the header. */
    int require(String column, String why) {
        int i = header.indexOf(column);
        if (i < 0) {
            throw new DatasetException(file + " line 1: missing required column '" + column + "' (" + why + "); the header has "
                    + header);
        }
        return i;
    }

    /** "name.csv line N", for {@link LabeledImage#source()}. */
    String source(Row row) {
        return file.getFileName() + " line " + row.line();
    }

    /** "path/name.csv line N", for error messages. */
    String at(Row row) {
        return file + " line " + row.line();
    }
}
