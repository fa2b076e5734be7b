import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { slugify } from '../normalize/slug.ts';
import { createRng, type Rng } from './random.ts';

/** The content genres a catalog title can carry (1-3 of them). */
export const GENRES = [
  'Anime',
  'K-drama',
  'C-drama',
  'Romantic',
  'Show',
  'Music',
  'Sports',
  'Action',
  'Comedy',
  'Documentary',
  'Kids',
] as const;
export type Genre = (typeof GENRES)[number];

export interface CatalogTitle {
  title: string;
  genres: Genre[];
}

/** Size of the built-in catalog shipped as engine/examples/customer-search/titles.csv. */
export const BUILTIN_TITLE_COUNT = 500;
const BUILTIN_TITLE_SEED = 20220601;

// A word list written as `a | b` text, one or more items a line: compact and easy to extend.
function words(text: string): string[] {
  return text
    .split(/[|\n]/)
    .map((word) => word.trim())
    .filter((word) => word !== '');
}

// Word lists for the title families. Everything here is invented for this project: titles are
// combinations of common Vietnamese/English words, never copied from a real catalog.
const ROMANCE_SUBJECTS = words(`
  Tình Yêu | Trái Tim | Nụ Hôn | Lời Hứa | Cô Nàng | Chàng Trai | Người Tình | Cô Dâu | Hoa
  Ánh Trăng | Mùa Xuân | Mùa Hạ | Hạnh Phúc | Giấc Mơ | Ký Ức | Nàng | Bí Mật | Người Thừa Kế | Cô Gái
  Hoàng Tử | Công Chúa | Thiên Thần | Cơn Mưa | Bầu Trời | Con Đường | Ngôi Nhà | Chuyện Tình
  Duyên Phận | Định Mệnh | Nắng | Cơn Gió | Đám Mây | Sao Băng | Cuộc Hẹn | Ngày Hôm Qua | Đêm Trắng
  Biển Xanh | Lá Thư | Bản Tình Ca | Chiếc Ô | Vì Sao | Khu Vườn | Thành Phố | Cánh Diều | Mối Tình
  Cô Vợ | Chàng Rể | Người Lạ | Tuổi Trẻ | Ánh Dương
`);
const ROMANCE_PREDICATES = words(`
  Không Ngờ Đến | Mùa Hạ | Trong Mưa | Rực Rỡ | Bí Mật | Đầu Tiên | Cuối Cùng | Của Tôi | Của Em
  Màu Nắng | Bên Kia Sông | Tháng Năm | Ngọt Ngào | Dối Trá | Vụng Về | Trở Lại | Không Lời | Vĩnh Cửu
  Nơi Xa | Tuổi Mười Bảy | Giữa Thành Phố | Lạc Lối | Ấm Áp | Bất Ngờ | Muộn Màng | Thầm Lặng
  Hoàn Hảo | Mong Manh | Dịu Dàng | Nhiệm Màu | Kỳ Diệu | Của Anh | Năm Ấy | Trên Mây | Đã Mất
  Xa Xôi | Thanh Xuân | Vô Tận | Một Thời | Trọn Đời | Mùa Đông | Tháng Chín | Nửa Đêm | Bên Nhau
  Chưa Kể | Đổi Chỗ | Hai Mặt | Ngược Chiều
`);
const PERSONS = words(`
  Bạn Trai Tôi | Vợ Tôi | Chồng Tôi | Sếp Tôi | Cô Giáo Tôi | Hàng Xóm Tôi | Anh Ấy | Cô Ấy
  Người Yêu Tôi | Bạn Gái Tôi | Mẹ Chồng Tôi | Bố Tôi | Em Gái Tôi | Thầy Tôi | Bạn Thân Tôi | Cậu Út
  Chị Đại
`);
const PERSON_TWISTS = words(`
  Là Hồ Ly | Là Ma Cà Rồng | Là Điệp Viên | Là Người Ngoài Hành Tinh | Là Tỷ Phú | Là Siêu Anh Hùng
  Là Sát Thủ | Là Thần Tượng | Là Bác Sĩ | Là Đầu Bếp | Là Cảnh Sát | Là Hoàng Tử | Là Yêu Tinh
  Là Nữ Hoàng | Là Thiên Tài | Đến Từ Tương Lai | Đến Từ Sao Hỏa | Biết Bay | Không Biết Yêu
  Mất Trí Nhớ | Là Thám Tử | Là Robot
`);
const HAN_VIET = words(`
  Minh | Lan | Nguyệt | Phượng | Long | Vân | Tuyết | Hoa | Thiên | Kiếm | Ngọc | Hương | Sơn | Hà
  Xuân | Thu | Đông | Phong | Lưu | Ly | Mị | Như | Ý | Diên | Hy | Tam | Sinh | Thế | Mộng | Cẩm | Tú
  Quân | Vương | Phi | Hậu | Cung | Lâm | Yên | Trường | An | Dạ | Hồng | Bạch | Thanh | Tử | Kim
  Huyền | Cửu
`);
const HAN_VIET_ENDINGS = words(`
  Truyện | Ký | Lệnh | Phú | Bảng | Hành | Ca | Sử | Kỳ Án | Lục | Quyết | Biệt Truyện | Mỹ Nhân
  Thiên Hạ | Tình Duyên
`);
const ACTION_HEROES = words(`
  Sát Thủ | Điệp Viên | Cảnh Sát | Đặc Vụ | Băng Đảng | Kẻ Săn Mồi | Chiến Binh | Biệt Đội | Thám Tử
  Kẻ Trộm | Người Vận Chuyển | Thợ Săn | Lính Đánh Thuê | Võ Sĩ | Tay Súng | Người Hùng | Kẻ Phản Bội
  Đội Đặc Nhiệm
`);
const ACTION_QUALIFIERS = words(`
  Bóng Đêm | Cuối Cùng | Báo Thù | Huyền Thoại | Tử Thần | Siêu Cấp | Đường Phố | Không Gục Ngã
  Máu Lạnh | Bất Tử | Vô Danh | Sài Gòn | Hà Nội | Phố Cảng | Tốc Độ | Sa Mạc | Biên Giới | Nội Gián
  Mật Danh | Thép | Truy Kích | Đối Mặt
`);
const EN_PREFIXES = ['The', 'My', '', 'A'] as const;
const EN_ADJECTIVES = words(`
  Silent | Hidden | Broken | Golden | Last | Dark | Little | Crimson | Eternal | Lost | Wild | Secret
  Frozen | Burning | Midnight | Iron | Blue | Fallen | Brave | Lonely | Shining | Endless | Savage
  Gentle | Final | Wandering | Sleeping | Hollow | Scarlet | Starry | Electric | Tiny | Mighty
  Haunted | Rising | Crystal | Paper | Shadow | Velvet | Neon
`);
const EN_NOUNS = words(`
  Kingdom | Hero | Academy | Detective | Garden | Empire | Witch | Samurai | Dragon | Knight | Ocean
  Planet | Island | Princess | Hunter | Wolf | Circus | Robot | Ninja | Pirate | City | Forest | Queen
  Legend | Blade | Heart | Summer | Soldier | Wizard | Train | Chef | School | Star | Moon | Storm
  Castle | Game | Squad | Doctor | Diary
`);
const EN_SERIES = words(`
  Chronicles | Academia | Diaries | Saga | Quest | Wars | Tales | Rising | Legacy | Origins | Online
  Hunters | Files | Club | Story | Reborn
`);
const ANIME_SUBJECTS = words(`
  Thám Tử | Cậu Bé | Cô Bé | Thủ Lĩnh | Pháp Sư | Ninja | Hiệp Sĩ | Chiến Binh | Học Viện | Thợ Săn
  Vua | Linh Hồn | Quái Vật | Rồng | Mèo | Kiếm Sĩ | Thần Đồng | Đội Trưởng
`);
const ANIME_QUALIFIERS = words(`
  Lừng Danh | Nhí | Tí Hon | Phép Thuật | Mặt Trăng | Bóng Tối | Thời Gian | Hải Tặc | Siêu Nhân
  Không Gian | Anh Hùng | Kỳ Bí | Lửa | Băng Giá | Sấm Sét | Diệt Quỷ | Học Đường | Dị Giới
`);
const SHOW_HEADS = words(`
  Gương Mặt | Giọng Hát | Siêu Trí Tuệ | Ca Sĩ | Thử Thách | Bước Nhảy | Cười | Ai Là | Chinh Phục
  Đấu Trường | Ngôi Sao | Vua | Bữa Trưa | Hành Trình | Sàn Chiến | Ký Ức | Người Ấy
`);
const SHOW_TAILS = words(`
  Thân Quen | Việt | Nhí | Bí Ẩn | Thần Tượng | Hoàn Vũ | Xuyên Việt | Vui Vẻ | Triệu Phú | Đỉnh Cao
  Âm Nhạc | Tài Năng | Mùa Hè | Cuối Tuần | Rực Lửa | Là Ai
`);
const COMPETITIONS = words(`
  Ngoại Hạng Anh | Cúp C1 | V-League | AFF Cup | SEA Games | Vòng Loại World Cup | Giao Hữu Quốc Tế
  U23 Châu Á | Asian Cup | Cúp Quốc Gia
`);
const TEAMS = words(`
  Việt Nam | Thái Lan | Indonesia | Malaysia | Philippines | Singapore | Myanmar | Campuchia | Lào
  Nhật Bản | Hàn Quốc | Trung Quốc | Úc | Iran | Qatar | Afghanistan | Ấn Độ | Jordan | Oman
  Uzbekistan
`);
const SPORT_PROGRAMS = words(`
  Bóng Đá Trực Tiếp | Trực Tiếp Bóng Đá | Bình Luận Bóng Đá | Bản Tin Thể Thao | Quần Vợt
  Bóng Chuyền Nữ | Đua Xe | Võ Thuật Tổng Hợp | Cầu Lông | Bóng Rổ | Bi-a | Cờ Vua | Điền Kinh
  Bơi Lội
`);
const SPORT_SUFFIXES = ['', 'Hôm Nay', 'Cuối Tuần', '24h', 'Đặc Biệt', 'Tổng Hợp', 'Nữ', 'Châu Á'] as const;
const MUSIC_HEADS = words(`
  Nhạc | Tuyển Tập | Liveshow | Đêm Nhạc | Hòa Nhạc | Ca Khúc | Giai Điệu | Album
`);
const MUSIC_TAILS = words(`
  Trữ Tình | Bolero | Xuân | Thiếu Nhi | Cách Mạng | Tình Yêu | Vàng | Remix | Acoustic | Quê Hương
  Mùa Thu | Hà Nội | Sài Gòn | Không Lời | Lofi | Dân Ca
`);
const MUSIC_SUFFIXES = ['', 'Hay Nhất', 'Chọn Lọc', 'Bất Hủ', 'Mới Nhất'] as const;
const DOC_HEADS = words(`
  Khám Phá | Hành Trình | Bí Ẩn | Thế Giới | Cuộc Sống | Lịch Sử | Kỳ Quan | Thiên Nhiên | Bên Trong
`);
const DOC_TAILS = words(`
  Đại Dương | Rừng Mưa | Vũ Trụ | Sa Mạc | Việt Nam | Châu Phi | Bắc Cực | Loài Cá Mập | Kim Tự Tháp
  Con Người | Động Vật Hoang Dã | Núi Lửa | Sông Mê Kông | Hang Động | Ẩm Thực Đường Phố | Tây Nguyên
  Biển Sâu | Loài Chim
`);
const KIDS_HEADS = words(`
  Bé | Chú | Gấu | Thỏ | Mèo Con | Khủng Long | Siêu Nhân | Heo | Vịt | Cún | Ong
`);
const KIDS_TAILS = words(`
  Học Chữ | Con Dũng Cảm | Và Những Người Bạn | Phiêu Lưu | Đi Học | Tinh Nghịch | Biết Hát | Nhí Nhố
  Khám Phá | Vui Vẻ | Học Đếm | Và Cầu Vồng
`);
const COMEDY_HEADS = words(`
  Chuyện | Nhà | Gia Đình | Xóm | Lớp Học | Công Sở | Bệnh Viện | Quán | Chung Cư
`);
const COMEDY_TAILS = words(`
  Bá Đạo | Lầy Lội | Rắc Rối | Siêu Quậy | Hài Hước | Vui Nhộn | Lắm Chuyện | Bất Ổn | Ba Chìm Bảy Nổi
  Oái Oăm | Náo Loạn | Tấu Hài
`);

type Style = 'vi' | 'en' | 'show' | 'music' | 'sports';
interface Draft {
  words: string[];
  genres: Genre[];
  style: Style;
}

// Each family draws one title shape with its genres; weights roughly follow an OTT catalog's mix.
const FAMILIES: readonly { weight: number; draw: (rng: Rng) => Draft }[] = [
  {
    weight: 16,
    draw: (rng) => {
      const subject = rng.pick(ROMANCE_SUBJECTS);
      let predicate = rng.pick(ROMANCE_PREDICATES);
      while (predicate === subject) predicate = rng.pick(ROMANCE_PREDICATES);
      return {
        words: [subject, predicate],
        genres: withExtras(rng, rng.next() < 0.6 ? 'K-drama' : 'Romantic', ['Romantic', 'Comedy'], 0.5),
        style: 'vi',
      };
    },
  },
  {
    weight: 5,
    draw: (rng) => ({
      words: [rng.pick(PERSONS), rng.pick(PERSON_TWISTS)],
      genres: withExtras(rng, rng.next() < 0.5 ? 'K-drama' : 'C-drama', ['Romantic', 'Comedy'], 0.6),
      style: 'vi',
    }),
  },
  {
    weight: 14,
    draw: (rng) => {
      const first = rng.pick(HAN_VIET);
      let second = rng.pick(HAN_VIET);
      while (second === first) second = rng.pick(HAN_VIET);
      return {
        words: [first, second, rng.pick(HAN_VIET_ENDINGS)],
        genres: withExtras(rng, 'C-drama', ['Romantic', 'Action'], 0.5),
        style: 'vi',
      };
    },
  },
  {
    weight: 8,
    draw: (rng) => ({
      words: [rng.pick(ACTION_HEROES), rng.pick(ACTION_QUALIFIERS)],
      genres: withExtras(rng, 'Action', ['Comedy', 'C-drama'], 0.3),
      style: 'vi',
    }),
  },
  {
    weight: 14,
    draw: (rng) => {
      const words = [rng.pick(EN_PREFIXES), rng.pick(EN_ADJECTIVES), rng.pick(EN_NOUNS)];
      if (rng.next() < 0.4) words.push(rng.pick(EN_SERIES));
      return {
        words: words.filter((word) => word !== ''),
        genres: withExtras(
          rng,
          rng.pick(['Anime', 'Action', 'Romantic', 'Kids', 'Comedy'] as const),
          ['Action', 'Comedy'],
          0.4,
        ),
        style: 'en',
      };
    },
  },
  {
    weight: 8,
    draw: (rng) => ({
      words: [rng.pick(ANIME_SUBJECTS), rng.pick(ANIME_QUALIFIERS)],
      genres: withExtras(rng, 'Anime', ['Kids', 'Action', 'Comedy'], 0.5),
      style: 'vi',
    }),
  },
  {
    weight: 7,
    draw: (rng) => ({
      words: [rng.pick(SHOW_HEADS), rng.pick(SHOW_TAILS)],
      genres: withExtras(rng, 'Show', ['Music', 'Comedy'], 0.5),
      style: 'show',
    }),
  },
  {
    weight: 8,
    draw: (rng) => {
      if (rng.next() < 0.35) {
        return {
          words: [rng.pick(SPORT_PROGRAMS), rng.pick(SPORT_SUFFIXES)].filter((word) => word !== ''),
          genres: ['Sports'],
          style: 'sports',
        };
      }
      const home = rng.pick(TEAMS);
      let away = rng.pick(TEAMS);
      while (away === home) away = rng.pick(TEAMS);
      const side = rng.next() < 0.3 ? 'U23 ' : '';
      return {
        words: [`${rng.pick(COMPETITIONS)}:`, `${side}${home} vs ${side}${away}`],
        genres: ['Sports'],
        style: 'sports',
      };
    },
  },
  {
    weight: 6,
    draw: (rng) => ({
      words: [rng.pick(MUSIC_HEADS), rng.pick(MUSIC_TAILS), rng.pick(MUSIC_SUFFIXES)].filter(
        (word) => word !== '',
      ),
      genres: withExtras(rng, 'Music', ['Show'], 0.3),
      style: 'music',
    }),
  },
  {
    weight: 5,
    draw: (rng) => ({
      words: [rng.pick(DOC_HEADS), rng.pick(DOC_TAILS)],
      genres: withExtras(rng, 'Documentary', ['Kids'], 0.15),
      style: 'vi',
    }),
  },
  {
    weight: 5,
    draw: (rng) => ({
      words: [rng.pick(KIDS_HEADS), rng.pick(KIDS_TAILS)],
      genres: withExtras(rng, 'Kids', ['Anime', 'Comedy'], 0.4),
      style: 'vi',
    }),
  },
  {
    weight: 4,
    draw: (rng) => ({
      words: [rng.pick(COMEDY_HEADS), rng.pick(COMEDY_TAILS)],
      genres: withExtras(rng, 'Comedy', ['Show', 'Romantic'], 0.3),
      style: 'vi',
    }),
  },
];
const FAMILY_WEIGHT = FAMILIES.reduce((sum, family) => sum + family.weight, 0);

function withExtras(rng: Rng, main: Genre, extras: readonly Genre[], chance: number): Genre[] {
  const genres: Genre[] = [main];
  for (const extra of extras) {
    if (genres.length < 3 && extra !== main && rng.next() < chance) genres.push(extra);
  }
  return genres;
}

function sequelSuffix(rng: Rng, style: Style): string {
  const part = 2 + rng.int(4);
  switch (style) {
    case 'show':
      return ` Mùa ${part}`;
    case 'music':
      return rng.pick([` Tập ${part}`, ` Vol. ${part}`]);
    case 'sports':
      return rng.pick([' (Lượt Về)', ' - Highlight', ' (Phát Lại)']);
    case 'en':
      return rng.pick([` ${part}`, `: Season ${part}`, ` Part ${part}`]);
    case 'vi':
      return rng.pick([` Phần ${part}`, ` (Phần ${part})`, ` ${part}`]);
  }
}

function drawTitle(rng: Rng): Draft {
  let ticket = rng.next() * FAMILY_WEIGHT;
  for (const family of FAMILIES) {
    ticket -= family.weight;
    if (ticket < 0) return family.draw(rng);
  }
  const last = FAMILIES[FAMILIES.length - 1];
  if (!last) throw new Error('no title families');
  return last.draw(rng);
}

interface Entry extends CatalogTitle {
  style: Style;
  original: boolean;
}

// Appends titles with distinct slugs from one seeded stream until `out` holds `count`. Some entries are sequels
// of an earlier original (same genres); a fresh draw that clashes with a taken title retries as a sequel of it.
// Distinct by slug, not only by case: the matcher keeps one title per slug, so 'Nàng Trọn Đời' beside
// 'Nắng Trọn Đời' (or 'X Phần 5' beside 'X (Phần 5)') lost one title's genres and made every run warn.
function fillTitles(out: Entry[], seen: Set<string>, count: number, seed: number): void {
  const rng = createRng(seed);
  let misses = 0;
  while (out.length < count) {
    const base = out[rng.int(out.length)];
    const sequel = base?.original === true && rng.next() < 0.08;
    const draft: Draft = sequel
      ? { words: [base.title], genres: base.genres, style: base.style }
      : drawTitle(rng);
    let title = draft.words.join(' ');
    if (sequel || seen.has(slugKey(title))) title += sequelSuffix(rng, draft.style);
    const key = slugKey(title);
    if (seen.has(key)) {
      misses += 1;
      if (misses > 50 * count + 10_000) throw new Error(`title space exhausted after ${out.length} titles`);
      continue;
    }
    seen.add(key);
    out.push({
      title,
      genres: [...draft.genres],
      style: draft.style,
      original: title === draft.words.join(' '),
    });
  }
}

/** A title's slug, as the matcher indexes it; every generated title has letters, so never empty. */
function slugKey(title: string): string {
  return slugify(title) ?? title;
}

/**
 * `count` titles with distinct slugs (so also distinct whatever the case, accents or punctuation), 1-3 genres
 * each. The first BUILTIN_TITLE_COUNT are the built-in catalog whatever the seed, so titles.csv always covers
 * the most searched titles of a sample.
 */
export function buildTitleCatalog(count: number, seed: number): CatalogTitle[] {
  const out: Entry[] = [];
  const seen = new Set<string>();
  fillTitles(out, seen, Math.min(count, BUILTIN_TITLE_COUNT), BUILTIN_TITLE_SEED);
  if (count > BUILTIN_TITLE_COUNT) fillTitles(out, seen, count, seed);
  return out.map(({ title, genres }) => ({ title, genres }));
}

/** CSV text `title,genres` (genres joined by ';'), RFC 4180 quoting, '\n' line ends. */
export function catalogToCsv(titles: readonly CatalogTitle[]): string {
  const lines = ['title,genres'];
  for (const { title, genres } of titles) lines.push(`${csvField(title)},${csvField(genres.join(';'))}`);
  return `${lines.join('\n')}\n`;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Where the built-in catalog lives, relative to the project root. */
export const BUILTIN_CATALOG_PATH = 'engine/examples/customer-search/titles.csv';

/** The built-in catalog's CSV text: the first BUILTIN_TITLE_COUNT titles of every generated catalog. */
export function builtinTitleCatalogCsv(): string {
  return catalogToCsv(buildTitleCatalog(BUILTIN_TITLE_COUNT, BUILTIN_TITLE_SEED));
}

/**
 * Writes the built-in catalog; byte-identical on every run. Regenerate the committed file with
 * `npx tsx -e "import('./engine/generate/titles.ts').then((m) => m.writeBuiltinTitleCatalog(m.BUILTIN_CATALOG_PATH))"`.
 */
export async function writeBuiltinTitleCatalog(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, builtinTitleCatalogCsv(), 'utf8');
}
