// Value distributions of the synthetic search log, measured on the real 3-day sample (9,000 rows) with
// DuckDB: weights are row counts there, plus a few values the real sample lacks but the brief asks for.

/** A categorical value (null allowed) with a relative weight. */
export interface Weighted {
  value: string | null;
  weight: number;
}

const w = (value: string | null, weight: number): Weighted => ({ value, weight });

export const PLATFORMS: readonly Weighted[] = [
  w('android', 2600),
  w('ios', 2006),
  w('web-playfpt', 905),
  w('smarttv-sony-android', 839),
  w('smart-tv-normal', 704),
  w('fplay-ottbox-2019', 376),
  w('smarttv-tcl-android', 345),
  w('fplay-ottbox-sei-2020', 248),
  w('smart-tv-normal-no-drm', 200),
  w('smarttv-ceb-nextgen', 183),
  w('smarttv-lg-nextgen', 160),
  w('fplay-ottbox-sdmc', 118),
  w('smarttv-ss-nextgen-2016', 68),
  w('fplay-ottbox-sdmc-2020', 64),
  w('smarttv-ss-nextgen-2015', 30),
  w('vsmart', 29),
  w('smarttv-tcl-nextgen', 18),
  w('smarttv', 17),
  w('smarttv-netrange-nextgen', 15),
  w('smarttv-lg_netcast-nextgen', 14),
  w('fplay-ottbox-sei-2021', 13),
  w('smarttv-pn-nextgen', 11),
  w('smarttv-pana-android', 6),
  w('skyworth-smarttv-android', 6),
  w('fplay-gr-android-box', 6),
  w('smarttv-tsb-nextgen', 5),
  w('smarttv-ss-nextgen-2020', 4),
  w('smarttv-ss-nextgen-2018', 3),
  w('smarttv-skyworth-nextgen', 3),
  w('smarttv-ss-nextgen-2017', 3),
  w(null, 1),
];

// cmc and sctv never occur in the sample; they are local ISPs the gold dim_network must know.
export const PROXY_ISPS: readonly Weighted[] = [
  w('viettel', 3495),
  w('vnpt', 3003),
  w('fpt', 2038),
  w('other', 444),
  w('spt', 20),
  w('cmc', 4),
  w('sctv', 2),
];

// networkType depends on the app that logged it: iOS reports WIFI/WWAN, Android wifi/3g, TVs and boxes
// wifi/ethernet or nothing. '4g' is absent from the sample and added in a small share.
export const NETWORKS_IOS: readonly Weighted[] = [w('WIFI', 1757), w('WWAN', 249)];
export const NETWORKS_ANDROID: readonly Weighted[] = [
  w('wifi', 2184),
  w('3g', 386),
  w('4g', 40),
  w('ethernet', 19),
  w('###', 11),
];
export const NETWORKS_OTHER: readonly Weighted[] = [
  w('wifi', 2164),
  w(null, 1439),
  w('ethernet', 747),
  w('###', 69),
  w('cab', 3),
  w('3g', 1),
];

export const CATEGORIES: readonly Weighted[] = [w('enter', 7417), w('quit', 1583)];

/** The 27 `Plan Name:type` strings of the sample, weighted by how often they occur. */
export const PLANS: readonly Weighted[] = [
  w('Kênh Quốc Tế:promotion', 474),
  w('Kênh Gia Đình:giftcode', 432),
  w('Kênh Gia Đình:promotion', 252),
  w('Tắt quảng cáo:promotion', 223),
  w('HBO GO+:promotion', 151),
  w('VIP:direct', 84),
  w('K+:direct', 71),
  w('MAX:direct', 63),
  w('MAX XMAS:direct', 58),
  w('Phim Đặc Sắc:promotion', 48),
  w('VIP XMAS:direct', 42),
  w('Phim Chiếu Rạp(TVOD):promotion', 25),
  w('Phim Chiếu Rạp(TVOD):direct', 25),
  w('VIP:giftcode', 11),
  w('Edumall:promotion', 10),
  w('Phim Đặc Sắc:direct', 9),
  w('VIP:promotion', 7),
  w('K+:giftcode', 6),
  w('Tắt quảng cáo:direct', 5),
  w('Tắt quảng cáo:giftcode', 5),
  w('Phim Chiếu Rạp(TVOD):giftcode', 4),
  w('MAX:giftcode', 4),
  w('HBO GO:giftcode', 3),
  w('K+:promotion', 3),
  w('Kênh Trả Phí:promotion', 3),
  w('Okara:promotion', 3),
  w('Phim Đặc Sắc:giftcode', 2),
];

/** Rows of the sample by plan-set size 1..9 (a paying user's set size follows this shape). */
export const PLAN_SET_SIZES: readonly number[] = [712, 287, 84, 30, 25, 22, 13, 1, 1];

/** Generic searches that name no title (they should stay `not_matched` after normalisation). */
export const NOISE_QUERIES: readonly string[] = `
  phim | phim hay | phim mới | phim bộ | phim lẻ | phim hàn | phim trung quốc | phim ma | phim hành động
  phim hoạt hình | hoạt hình | hài | ca nhạc | nhạc | tin tức | thời sự | trực tiếp | bóng đá | bong da
  truc tiep | xem phim | vtv1 | vtv3 | vtv6 | kênh vtv6 | htv7 | k+ | kênh k+ | thể thao | anime | kdrama
  tvb | thuyết minh | lồng tiếng | vietsub | full hd | tập 1 | tap cuoi | mới nhất | hay nhất
  Tìm kiếm bằng giọng nói | football | movie | cartoon | music | game | tro choi | karaoke
  dự báo thời tiết | xổ số | thiếu nhi | học tiếng anh | yoga | nấu ăn | việt nam | viet nam | vn vs
  trực tiếp việt nam | lich thi dau | kết quả bóng đá | highlight | phim 18+ | phim chiếu rạp | netflix
  hbo | vip | tắt quảng cáo | gia đình | kênh quốc tế | phim tết | hài tết | táo quân | cải lương
  phim thái | phim ấn độ | phim mỹ | marvel | kinh dị | trinh thám | cổ trang | ngôn tình | đam mỹ
  #phimhay | phim 2022 | tập 2 | 101 | 30 | abc
`
  .split(/[|\n]/)
  .map((query) => query.trim())
  .filter((query) => query !== '');

// Search traffic by hour of day (local time): quiet at night, a lunch bump and a strong evening peak.
export const HOURLY_WEIGHTS: readonly number[] = [
  3, 1.8, 1, 0.6, 0.5, 0.7, 1.5, 2.5, 3, 3.2, 3.5, 4, 5, 4.8, 4.5, 4.3, 4.5, 5, 6, 8, 9.5, 9.5, 7.5, 5,
];

/** Values an unparseable datetime takes; `{date}`/`{time}` are filled with the row's own parts. */
export const GARBAGE_DATETIMES: readonly string[] = [
  'N/A',
  '',
  'null',
  '-',
  'undefined',
  '0000-00-00 00:00:00',
  '{date} 25:{time}',
];
